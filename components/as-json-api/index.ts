// @ts-nocheck: AssemblyScript (compiled by asc; the host's tsc skips it).
import { Request, Response, Router, Params, JsonValue, parseJson } from "micron/sdk/assemblyscript";

/** GET /items/:id → 200 `{"id":"<id>"}`. */
function getItem(req: Request, params: Params): Response {
  return Response.json(JsonValue.newObject().set("id", JsonValue.ofString(params.value("id"))).toString());
}

/** POST /items with a JSON object → 201 echoing its fields; anything else → 400. */
function createItem(req: Request, params: Params): Response {
  const item = parseJson(req.text());
  if (item == null || !item.isObject) {
    return Response.json('{"error":"body must be a JSON object"}', 400);
  }
  return Response.json(item.toString(), 201);
}

const router = new Router()
  .get("/items/:id", getItem)
  .post("/items", createItem);

export function handle(req: Request): Response {
  return router.handle(req);
}
