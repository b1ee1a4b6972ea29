import { Request, Response, Router, Params, JsonValue, parseJson, jsonQuote } from "micron/sdk/assemblyscript";

/** GET /items/:id → 200 `{"id":"<id>"}` (the id percent-decoded). */
function getItem(req: Request, params: Params): Response {
  return Response.json(JsonValue.newObject().set("id", JsonValue.ofString(params.value("id"))).toString());
}

/** POST /items with a JSON body → 201 echoing what was parsed; invalid JSON → 400. */
function createItem(req: Request, params: Params): Response {
  const item = parseJson(req.text());
  if (item == null) return error(400, "the body is not valid JSON");
  return Response.json(item.toString(), 201);
}

function methodNotAllowed(req: Request, params: Params): Response {
  return error(405, "method not allowed");
}

function error(status: i32, message: string): Response {
  return Response.json('{"error":' + jsonQuote(message) + "}", status);
}

// Routes are tried in order; anything unmatched answers 404 {"error":"not found"}.
const router = new Router()
  .get("/items/:id", getItem)
  .post("/items", createItem)
  .all("/items", methodNotAllowed)
  .all("/items/:id", methodNotAllowed);

export function handle(req: Request): Response {
  return router.handle(req);
}
