/**
 * Micron's AssemblyScript SDK: write a handler, get a `wasi:http@0.2.12`
 * component.
 *
 * ```ts
 * import { Request, Response } from "micron/sdk/assemblyscript";
 * export function handle(req: Request): Response {
 *   return Response.text("Hello from " + req.path + "\n");
 * }
 * ```
 *
 * Everything public is re-exported here; the other files are internal.
 */
export { Request } from "./request";
export { Response } from "./response";
export { ResponseWriter } from "./response-writer";
export { Headers, Header } from "./headers";
export { BodyReader, BodyWriter } from "./body";
export { fetch } from "./fetch";
export { log, logError } from "./log";
export { env, environment } from "./env";
export { now, monotonicNanos, sleep, randomBytes, randomU64 } from "./time";
export { queryParam, decodeComponent } from "./url";
export { Router, Params, RouteHandler } from "./router";
export { JsonValue, JsonKind, parseJson, jsonQuote } from "./json";
// The glue the transform's generated entry calls; importing the SDK links it.
export { __micronRequest, __micronRespond, __micronWriter, __micronEnd } from "./serve";
