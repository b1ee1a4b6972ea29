/** Canonical-ABI import of `wasi:http/outgoing-handler@0.2.12`. */

/**
 * `handle(request, option<request-options>)`. ret:
 * result<future-incoming-response, error-code> = tag u8 @0, future @8 |
 * error-code (tag u8 @8, payload @16).
 */
@external("wasi:http/outgoing-handler@0.2.12", "handle")
export declare function outgoingHandlerHandle(request: i32, hasOptions: i32, options: i32, ret: usize): void;
