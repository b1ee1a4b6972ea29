/** Canonical-ABI imports of `wasi:clocks/monotonic-clock@0.2.12`. */

/** Nanoseconds since an arbitrary point. */
@external("wasi:clocks/monotonic-clock@0.2.12", "now")
export declare function monotonicNow(): u64;

/** A pollable that resolves after `nanoseconds`. */
@external("wasi:clocks/monotonic-clock@0.2.12", "subscribe-duration")
export declare function monotonicSubscribeDuration(nanoseconds: u64): i32;
