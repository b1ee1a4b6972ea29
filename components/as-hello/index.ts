// @ts-nocheck: AssemblyScript (compiled by asc; the host's tsc skips it).
import { Request, Response } from "micron/sdk/assemblyscript";

/** Answers every request with a greeting. */
export function handle(req: Request): Response {
  return Response.text("Hello from AssemblyScript!\n");
}
