/**
 * Canonical-ABI imports of `wasi:http/types@0.2.12`, lowered by hand.
 *
 * Handles are `i32`; pointers are `usize`. A function whose WIT result does not
 * fit in one core value takes a trailing `ret` pointer to a scratch area
 * (see `../../abi.ts`) where the host writes the result; the layouts are noted
 * beside each import. Strings are UTF-8 (the component is embedded with
 * `string-encoding=utf8`).
 */

// ---- fields (headers and trailers) ----------------------------------------

@external("wasi:http/types@0.2.12", "[constructor]fields")
export declare function fieldsNew(): i32;

/** `entries` is a list of 16-byte tuples (name ptr, name len, value ptr, value len).
 *  ret: result<fields, header-error> = tag u8 @0, fields @4 | header-error u8 @4. */
@external("wasi:http/types@0.2.12", "[static]fields.from-list")
export declare function fieldsFromList(entries: usize, count: usize, ret: usize): void;

/** ret: list<list<u8>> = ptr @0, len @4; each element 8 bytes (ptr, len). */
@external("wasi:http/types@0.2.12", "[method]fields.get")
export declare function fieldsGet(self: i32, name: usize, nameLen: usize, ret: usize): void;

/** ret: result<_, header-error> = tag u8 @0, header-error u8 @1. */
@external("wasi:http/types@0.2.12", "[method]fields.append")
export declare function fieldsAppend(self: i32, name: usize, nameLen: usize, value: usize, valueLen: usize, ret: usize): void;

/** ret: list<tuple<string, list<u8>>> = ptr @0, len @4; each element 16 bytes. */
@external("wasi:http/types@0.2.12", "[method]fields.entries")
export declare function fieldsEntries(self: i32, ret: usize): void;

@external("wasi:http/types@0.2.12", "[resource-drop]fields")
export declare function fieldsDrop(self: i32): void;

// ---- incoming-request ------------------------------------------------------

/** ret: method = tag u8 @0; `other(string)` (tag 9): ptr @4, len @8. */
@external("wasi:http/types@0.2.12", "[method]incoming-request.method")
export declare function incomingRequestMethod(self: i32, ret: usize): void;

/** ret: option<string> = tag u8 @0, ptr @4, len @8. */
@external("wasi:http/types@0.2.12", "[method]incoming-request.path-with-query")
export declare function incomingRequestPathWithQuery(self: i32, ret: usize): void;

/** ret: option<scheme> = tag u8 @0; scheme tag u8 @4; `other(string)`: ptr @8, len @12. */
@external("wasi:http/types@0.2.12", "[method]incoming-request.scheme")
export declare function incomingRequestScheme(self: i32, ret: usize): void;

/** ret: option<string> = tag u8 @0, ptr @4, len @8. */
@external("wasi:http/types@0.2.12", "[method]incoming-request.authority")
export declare function incomingRequestAuthority(self: i32, ret: usize): void;

/** Returns a child `headers` handle (immutable; drop it before the request). */
@external("wasi:http/types@0.2.12", "[method]incoming-request.headers")
export declare function incomingRequestHeaders(self: i32): i32;

/** ret: result<incoming-body> = tag u8 @0, body @4. */
@external("wasi:http/types@0.2.12", "[method]incoming-request.consume")
export declare function incomingRequestConsume(self: i32, ret: usize): void;

@external("wasi:http/types@0.2.12", "[resource-drop]incoming-request")
export declare function incomingRequestDrop(self: i32): void;

// ---- outgoing-request ------------------------------------------------------

@external("wasi:http/types@0.2.12", "[constructor]outgoing-request")
export declare function outgoingRequestNew(headers: i32): i32;

/** ret: result<outgoing-body> = tag u8 @0, body @4. */
@external("wasi:http/types@0.2.12", "[method]outgoing-request.body")
export declare function outgoingRequestBody(self: i32, ret: usize): void;

/** method = (tag, ptr, len); returns result (0 = ok). */
@external("wasi:http/types@0.2.12", "[method]outgoing-request.set-method")
export declare function outgoingRequestSetMethod(self: i32, tag: i32, ptr: usize, len: usize): i32;

/** option<string> = (is-some, ptr, len); returns result (0 = ok). */
@external("wasi:http/types@0.2.12", "[method]outgoing-request.set-path-with-query")
export declare function outgoingRequestSetPathWithQuery(self: i32, isSome: i32, ptr: usize, len: usize): i32;

/** option<scheme> = (is-some, scheme tag, ptr, len); returns result (0 = ok). */
@external("wasi:http/types@0.2.12", "[method]outgoing-request.set-scheme")
export declare function outgoingRequestSetScheme(self: i32, isSome: i32, tag: i32, ptr: usize, len: usize): i32;

/** option<string> = (is-some, ptr, len); returns result (0 = ok). */
@external("wasi:http/types@0.2.12", "[method]outgoing-request.set-authority")
export declare function outgoingRequestSetAuthority(self: i32, isSome: i32, ptr: usize, len: usize): i32;

@external("wasi:http/types@0.2.12", "[resource-drop]outgoing-request")
export declare function outgoingRequestDrop(self: i32): void;

// ---- response-outparam -----------------------------------------------------

/**
 * `set(param, result<outgoing-response, error-code>)`, flattened: the result
 * tag, then the joined payload slots of `outgoing-response` and `error-code`
 * (error-code's discriminant, then its widest case: an i32 slot, an i64
 * slot for `option<u64>`, four more i32 slots).
 */
@external("wasi:http/types@0.2.12", "[static]response-outparam.set")
export declare function responseOutparamSet(
  param: i32, isErr: i32, payload: i32, a: i32, b: i64, c: i32, d: i32, e: i32, f: i32,
): void;

// ---- incoming-response -----------------------------------------------------

@external("wasi:http/types@0.2.12", "[method]incoming-response.status")
export declare function incomingResponseStatus(self: i32): i32;

@external("wasi:http/types@0.2.12", "[method]incoming-response.headers")
export declare function incomingResponseHeaders(self: i32): i32;

/** ret: result<incoming-body> = tag u8 @0, body @4. */
@external("wasi:http/types@0.2.12", "[method]incoming-response.consume")
export declare function incomingResponseConsume(self: i32, ret: usize): void;

@external("wasi:http/types@0.2.12", "[resource-drop]incoming-response")
export declare function incomingResponseDrop(self: i32): void;

// ---- incoming-body ---------------------------------------------------------

/** ret: result<input-stream> = tag u8 @0, stream @4. */
@external("wasi:http/types@0.2.12", "[method]incoming-body.stream")
export declare function incomingBodyStream(self: i32, ret: usize): void;

@external("wasi:http/types@0.2.12", "[resource-drop]incoming-body")
export declare function incomingBodyDrop(self: i32): void;

// ---- outgoing-response -----------------------------------------------------

@external("wasi:http/types@0.2.12", "[constructor]outgoing-response")
export declare function outgoingResponseNew(headers: i32): i32;

/** Returns result (0 = ok, 1 = invalid status). */
@external("wasi:http/types@0.2.12", "[method]outgoing-response.set-status-code")
export declare function outgoingResponseSetStatusCode(self: i32, status: i32): i32;

/** ret: result<outgoing-body> = tag u8 @0, body @4. */
@external("wasi:http/types@0.2.12", "[method]outgoing-response.body")
export declare function outgoingResponseBody(self: i32, ret: usize): void;

// ---- outgoing-body ---------------------------------------------------------

/** ret: result<output-stream> = tag u8 @0, stream @4. */
@external("wasi:http/types@0.2.12", "[method]outgoing-body.write")
export declare function outgoingBodyWrite(self: i32, ret: usize): void;

/** trailers = option<trailers> (is-some, handle). ret: result<_, error-code> = tag u8 @0, error-code @8. */
@external("wasi:http/types@0.2.12", "[static]outgoing-body.finish")
export declare function outgoingBodyFinish(self: i32, hasTrailers: i32, trailers: i32, ret: usize): void;

@external("wasi:http/types@0.2.12", "[resource-drop]outgoing-body")
export declare function outgoingBodyDrop(self: i32): void;

// ---- future-incoming-response ----------------------------------------------

@external("wasi:http/types@0.2.12", "[method]future-incoming-response.subscribe")
export declare function futureIncomingResponseSubscribe(self: i32): i32;

/**
 * ret: option<result<result<incoming-response, error-code>>> =
 * option tag u8 @0; outer result tag u8 @8; inner result tag u8 @16;
 * incoming-response @24 | error-code (tag u8 @24, payload @32).
 */
@external("wasi:http/types@0.2.12", "[method]future-incoming-response.get")
export declare function futureIncomingResponseGet(self: i32, ret: usize): void;

@external("wasi:http/types@0.2.12", "[resource-drop]future-incoming-response")
export declare function futureIncomingResponseDrop(self: i32): void;
