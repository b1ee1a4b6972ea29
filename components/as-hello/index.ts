import { Request, Response } from "micron/sdk/assemblyscript";

/** Answers every request with a greeting. */
export function handle(req: Request): Response {
  return Response.text("Hello from AssemblyScript!\n");
}
