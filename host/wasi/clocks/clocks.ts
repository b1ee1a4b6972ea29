/**
 * wasi:clocks/monotonic-clock and wall-clock. The monotonic clock counts ns
 * from an arbitrary process-wide origin; waits become timer pollables that
 * suspend the guest without blocking the event loop.
 */
import type { GuestContext } from '../context.js';
import { TimerPollable } from '../io/poll.js';

const origin = process.hrtime.bigint();

/** Monotonic ns since the host process started. */
export function monotonicNow(): bigint {
  return process.hrtime.bigint() - origin;
}

/** Implementations of wasi:clocks/monotonic-clock keyed by WIT function name. */
export const monotonicClock = {
  now: (): bigint => monotonicNow(),
  resolution: (): bigint => 1n,
  'subscribe-instant': (_cx: GuestContext, when: bigint) => new TimerPollable(when, monotonicNow),
  'subscribe-duration': (_cx: GuestContext, d: bigint) => new TimerPollable(monotonicNow() + d, monotonicNow),
};

/** Implementations of wasi:clocks/wall-clock keyed by WIT function name. */
export const wallClock = {
  now: () => {
    const ms = Date.now();
    return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1_000_000 };
  },
  resolution: () => ({ seconds: 0n, nanoseconds: 1_000_000 }),
};
