/**
 * Clocks and randomness (`wasi:clocks`, `wasi:random`). Use these instead of
 * `Date.now()` and `Math.random()`, which would import from `env`, which a
 * component cannot have.
 */
import { RET, liftBytes } from "./abi";
import { wallClockNow } from "./wasi/clocks/wall-clock";
import { monotonicNow, monotonicSubscribeDuration } from "./wasi/clocks/monotonic-clock";
import { pollableBlock, pollableDrop } from "./wasi/io/poll";
import { getRandomBytes, getRandomU64 } from "./wasi/random/random";

/** Milliseconds since the Unix epoch (wall clock), like `Date.now()`. */
export function now(): i64 {
  wallClockNow(RET);
  return load<i64>(RET) * 1000 + <i64>(load<u32>(RET, 8) / 1_000_000);
}

/** Nanoseconds on a monotonic clock: for measuring durations. */
export function monotonicNanos(): u64 {
  return monotonicNow();
}

/** Blocks for `ms` milliseconds. */
export function sleep(ms: i64): void {
  const p = monotonicSubscribeDuration(<u64>ms * 1_000_000);
  pollableBlock(p);
  pollableDrop(p);
}

/** `n` cryptographically secure random bytes. */
export function randomBytes(n: i32): Uint8Array {
  getRandomBytes(<u64>n, RET);
  return liftBytes(load<usize>(RET), load<u32>(RET, 4));
}

/** A cryptographically secure random 64-bit number. */
export function randomU64(): u64 {
  return getRandomU64();
}
