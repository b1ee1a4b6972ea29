/** Canonical-ABI imports of `wasi:io/error@0.2.12`. */

/** ret: string = ptr @0, len @4. */
@external("wasi:io/error@0.2.12", "[method]error.to-debug-string")
export declare function errorToDebugString(self: i32, ret: usize): void;

@external("wasi:io/error@0.2.12", "[resource-drop]error")
export declare function errorDrop(self: i32): void;
