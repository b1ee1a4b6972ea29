/** Canonical-ABI imports of `wasi:random/random@0.2.12`. */

/** ret: list<u8> = ptr @0, len @4. */
@external("wasi:random/random@0.2.12", "get-random-bytes")
export declare function getRandomBytes(len: u64, ret: usize): void;

@external("wasi:random/random@0.2.12", "get-random-u64")
export declare function getRandomU64(): u64;
