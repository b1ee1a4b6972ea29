/**
 * The clocks a guest sees, in nanoseconds, plus a virtual offset that
 * {@link GuestClock.advance} moves forward.
 *
 * The offset is how a guest "sleeps" without blocking the host: under the
 * `virtual` sleep policy, poll_oneoff advances this clock instead of waiting,
 * so timers fire at once and the guest observes the time it asked to sleep.
 * Both clocks move together so wall time and monotonic time never disagree.
 *
 * The monotonic clock counts from a process-wide origin, so it never goes
 * backwards across instances in one process; a runner that restores a memory
 * snapshot carries the snapshot's offset over with {@link GuestClock.offsetNs}.
 */
export class GuestClock {
  /** Nanoseconds added to both clocks by virtual sleeps. */
  offsetNs = 0;

  /** @param offsetNs - starting virtual offset (the offset a restored snapshot had) */
  constructor(offsetNs = 0) {
    this.offsetNs = offsetNs;
  }

  /** Wall-clock time since the Unix epoch, in ns (a double: exact to ~256 ns). */
  realtimeNs(): number {
    return (performance.timeOrigin + performance.now()) * 1e6 + this.offsetNs;
  }

  /** Monotonic time since the process's time origin, in ns. */
  monotonicNs(): number {
    return performance.now() * 1e6 + this.offsetNs;
  }

  /** Moves both clocks forward by `ns` (negative values are ignored). */
  advance(ns: number): void {
    if (ns > 0) this.offsetNs += ns;
  }
}

/** Resolution reported by clock_res_get, in ns. Node's timers give about a microsecond. */
export const CLOCK_RESOLUTION_NS = 1000;
