/** Canonical-ABI import of `wasi:cli/stderr@0.2.12`. */

@external("wasi:cli/stderr@0.2.12", "get-stderr")
export declare function getStderr(): i32;
