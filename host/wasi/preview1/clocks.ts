/**
 * clock_res_get and clock_time_get.
 *
 * Realtime and monotonic come from {@link GuestClock}; the CPU-time clocks
 * report monotonic time (a guest has no other CPU to share with while it runs
 * on this thread). Unknown clock ids are EINVAL.
 */
import { Errno } from './errno.js';
import type { GuestClock } from './guest-clock.js';
import { CLOCK_RESOLUTION_NS } from './guest-clock.js';
import type { Preview1State } from './state.js';

/** preview1 clock ids. */
export const ClockId = { realtime: 0, monotonic: 1, processCputime: 2, threadCputime: 3 } as const;

/** Reads clock `id` in ns, or returns undefined for an unknown id. */
export function readClock(clock: GuestClock, id: number): number | undefined {
  switch (id) {
    case ClockId.realtime:
      return clock.realtimeNs();
    case ClockId.monotonic:
    case ClockId.processCputime:
    case ClockId.threadCputime:
      return clock.monotonicNs();
    default:
      return undefined;
  }
}

/**
 * Writes a u64 held in a double without allocating a BigInt (the hot path:
 * Go's scheduler reads the monotonic clock constantly).
 */
export function setU64(view: DataView, ptr: number, value: number): void {
  const v = value < 0 ? 0 : Math.floor(value);
  const hi = Math.floor(v / 4294967296);
  view.setUint32(ptr, v - hi * 4294967296, true);
  view.setUint32(ptr + 4, hi, true);
}

/** The two clock imports. */
export function clockImports(state: Preview1State) {
  const memory = state.memory;
  return {
    clock_res_get(id: number, resPtr: number): number {
      if (readClock(state.clock, id) === undefined) return Errno.inval;
      setU64(memory.view, resPtr, CLOCK_RESOLUTION_NS);
      return Errno.success;
    },
    clock_time_get(id: number, _precision: bigint, timePtr: number): number {
      const now = readClock(state.clock, id);
      if (now === undefined) return Errno.inval;
      setU64(memory.view, timePtr, now);
      return Errno.success;
    },
  };
}
