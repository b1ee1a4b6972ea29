/**
 * @internal The glue between the component's export and the author's
 * handler. The transform (`transform/wit-exports.mjs`) adds an entry file
 * that exports `wasi:http/incoming-handler@0.2.12#handle` and `cabi_realloc`
 * and calls these around a direct call of the author's `handle` or
 * `handleStream` (direct, so no function table is needed).
 */
import { Request } from "./request";
import { Response } from "./response";
import { ResponseWriter } from "./response-writer";
import { logError } from "./log";
export { cabiRealloc } from "./abi";

/**
 * AssemblyScript's `abort` (a `throw`, a failed bounds check): writes the
 * message and its place to stderr, so the host logs them with the request
 * id, then traps. The transform makes the build use it (`--use abort=`).
 */
export function __micronAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const place = fileName !== null ? " at " + fileName + ":" + line.toString() + ":" + column.toString() : "";
  logError("abort: " + (message !== null ? message : "(no message)") + place);
  unreachable();
}

/** Wraps the `incoming-request` handle the host passed in. */
export function __micronRequest(request: i32): Request {
  return Request.incoming(request);
}

/** Sends what `handle(req)` returned, then releases the request. */
export function __micronRespond(req: Request, res: Response, outparam: i32): void {
  res.send(outparam);
  req.release();
}

/** The writer `handleStream(req, res)` answers through. */
export function __micronWriter(outparam: i32): ResponseWriter {
  return new ResponseWriter(outparam);
}

/** Ends what `handleStream` wrote, then releases the request. */
export function __micronEnd(req: Request, res: ResponseWriter): void {
  res.end();
  req.release();
}
