import { Request, Response, log } from "micron/sdk/assemblyscript";

/** Called for every request; return the response. */
export function handle(req: Request): Response {
  log(req.method + " " + req.path);
  const name = req.queryParam("name");
  return Response.text("Hello, " + (name != null ? name : "world") + "!\n");
}
