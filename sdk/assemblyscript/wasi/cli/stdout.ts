/** Canonical-ABI import of `wasi:cli/stdout@0.2.12`. */

@external("wasi:cli/stdout@0.2.12", "get-stdout")
export declare function getStdout(): i32;
