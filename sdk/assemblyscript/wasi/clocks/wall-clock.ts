/** Canonical-ABI import of `wasi:clocks/wall-clock@0.2.12`. */

/** ret: datetime = seconds u64 @0, nanoseconds u32 @8. */
@external("wasi:clocks/wall-clock@0.2.12", "now")
export declare function wallClockNow(ret: usize): void;
