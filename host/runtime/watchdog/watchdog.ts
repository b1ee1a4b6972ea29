/**
 * What runs guest code with a deadline. Implementations: `native` (a
 * persistent watchdog thread calling V8's TerminateExecution; sub-µs per
 * call), `vm` (node's `vm` timeout, a watchdog thread per call; tens of µs),
 * `off` (no protection against a guest that never yields). See
 * docs/adr/002-deadlines.md.
 */
export interface Watchdog {
  readonly kind: 'native' | 'vm' | 'off';
  /**
   * Calls `fn(a, b)` on this thread and returns its result. When it is still
   * running after `ms` milliseconds it is stopped and {@link DeadlineExceeded}
   * is thrown; the thread stays usable. Exceptions of `fn` pass through. A
   * call made while another is running (nested) runs under the outer
   * deadline.
   */
  call<A, B, R>(fn: (a: A, b: B) => R, a: A, b: B, ms: number): R;
  /** Calls stopped so far (native only; 0 otherwise). */
  fired(): number;
}
