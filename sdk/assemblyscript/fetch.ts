/** {@link fetch}: outbound HTTP through `wasi:http/outgoing-handler`. */
import { RET, utf8, ptrOf, liftString } from "./abi";
import { Request, methodTag } from "./request";
import { Response } from "./response";
import { BodyWriter } from "./body";
import { outgoingHandlerHandle } from "./wasi/http/outgoing-handler";
import {
  outgoingRequestNew, outgoingRequestSetMethod, outgoingRequestSetScheme, outgoingRequestSetAuthority,
  outgoingRequestSetPathWithQuery, outgoingRequestBody,
  futureIncomingResponseGet, futureIncomingResponseSubscribe, futureIncomingResponseDrop,
} from "./wasi/http/types";
import { pollableBlock, pollableDrop } from "./wasi/io/poll";

/**
 * `wasi:http/types.error-code` case names in discriminant order, in one
 * string (smaller than an array of 39 strings; `@lazy`, so linked only with
 * fetch). One literal: a concatenation would run at every instantiation.
 */
// @ts-ignore: decorator
@lazy const ERROR_CODES = "DNS-timeout DNS-error destination-not-found destination-unavailable destination-IP-prohibited destination-IP-unroutable connection-refused connection-terminated connection-timeout connection-read-timeout connection-write-timeout connection-limit-reached TLS-protocol-error TLS-certificate-error TLS-alert-received HTTP-request-denied HTTP-request-length-required HTTP-request-body-size HTTP-request-method-invalid HTTP-request-URI-invalid HTTP-request-URI-too-long HTTP-request-header-section-size HTTP-request-header-size HTTP-request-trailer-section-size HTTP-request-trailer-size HTTP-response-incomplete HTTP-response-header-section-size HTTP-response-header-size HTTP-response-body-size HTTP-response-trailer-section-size HTTP-response-trailer-size HTTP-response-transfer-coding HTTP-response-content-coding HTTP-response-timeout HTTP-upgrade-failed HTTP-protocol-error loop-detected configuration-error internal-error";

/** The name of the error-code written at `at` (with its message for `internal-error`). */
function errorCodeName(at: usize): string {
  const tag = <i32>load<u8>(at);
  let start = 0;
  for (let i = 0; i < tag && start >= 0; i++) start = ERROR_CODES.indexOf(" ", start) + 1;
  if (start <= 0 && tag > 0) return "internal-error";
  let end = ERROR_CODES.indexOf(" ", start);
  if (end < 0) end = ERROR_CODES.length;
  const name = ERROR_CODES.substring(start, end);
  if (tag == 38 && load<u8>(at, 8)) return name + ": " + liftString(load<usize>(at, 12), load<u32>(at, 16));
  return name;
}

/**
 * Sends a request and waits for the response head; the body is then
 * streamed as it is read. `input` is a URL string (a GET) or a
 * {@link Request} (whose URL must be absolute). It never throws
 * (AssemblyScript cannot catch): when the request fails, or the host refuses
 * it (for example a destination not on the function's allow-list:
 * `HTTP-request-denied`), the result has `status` 0 and `error` set to the
 * `wasi:http` error-code name (`HTTP-request-URI-invalid` for a URL that is
 * not absolute).
 */
export function fetch<T>(input: T): Response {
  if (isString<T>()) return send(new Request("GET", changetype<string>(input)));
  else return send(changetype<Request>(input));
}

function send(req: Request): Response {
  if (req.authority.length == 0) return Response.failure("HTTP-request-URI-invalid");
  const out = outgoingRequestNew(req.headers.toFields());

  const method = req.method;
  const tag = methodTag(method);
  if (tag < 9) outgoingRequestSetMethod(out, tag, 0, 0);
  else {
    const m = utf8(method);
    outgoingRequestSetMethod(out, tag, ptrOf(m), m.byteLength);
  }
  const scheme = req.scheme;
  if (scheme == "http") outgoingRequestSetScheme(out, 1, 0, 0, 0);
  else if (scheme == "https") outgoingRequestSetScheme(out, 1, 1, 0, 0);
  else if (scheme.length > 0) {
    const s = utf8(scheme);
    outgoingRequestSetScheme(out, 1, 2, ptrOf(s), s.byteLength);
  }
  const authority = utf8(req.authority);
  if (authority.byteLength) outgoingRequestSetAuthority(out, 1, ptrOf(authority), authority.byteLength);
  const target = utf8(req.target);
  outgoingRequestSetPathWithQuery(out, 1, ptrOf(target), target.byteLength);

  const payload = req.outgoingBody;
  let body = -1;
  if (payload != null) {
    outgoingRequestBody(out, RET);
    if (load<u8>(RET) == 0) body = load<i32>(RET, 4);
  }

  outgoingHandlerHandle(out, 0, 0, RET);
  if (load<u8>(RET) != 0) return Response.failure(errorCodeName(RET + 8));
  const future = load<i32>(RET, 8);

  if (body >= 0) {
    // Written after `handle` so a body larger than the host's buffer streams out.
    const w = new BodyWriter(body);
    w.writeBytes(payload!);
    w.close();
  }

  while (true) {
    futureIncomingResponseGet(future, RET);
    if (load<u8>(RET) != 0) break;
    const ready = futureIncomingResponseSubscribe(future);
    pollableBlock(ready);
    pollableDrop(ready);
  }
  let res: Response;
  if (load<u8>(RET, 8) != 0) res = Response.failure("internal-error");
  else if (load<u8>(RET, 16) != 0) res = Response.failure(errorCodeName(RET + 24));
  else res = Response.incoming(load<i32>(RET, 24));
  futureIncomingResponseDrop(future);
  return res;
}
