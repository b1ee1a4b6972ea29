/** Canonical-ABI import of `wasi:cli/environment@0.2.12`. */

/** ret: list<tuple<string, string>> = ptr @0, len @4; each element 16 bytes (key ptr, key len, value ptr, value len). */
@external("wasi:cli/environment@0.2.12", "get-environment")
export declare function getEnvironment(ret: usize): void;
