/** Canonical-ABI imports of `wasi:io/poll@0.2.12`. */

@external("wasi:io/poll@0.2.12", "[method]pollable.block")
export declare function pollableBlock(self: i32): void;

@external("wasi:io/poll@0.2.12", "[resource-drop]pollable")
export declare function pollableDrop(self: i32): void;
