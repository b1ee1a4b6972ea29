/**
 * What the WASI host implementations need from the invocation that is running
 * a guest. The runtime's `Invocation` implements it; keeping it an interface
 * lets every `wasi/*` file be tested without a real instance.
 */
import type { CallContext, Suspended } from '../abi/canon.js';
import type { Trap } from '../abi/trap.js';

/** Operator policy and limits that apply to one function's guests. */
export interface GuestPolicy {
  /** Environment variables the guest sees (wasi:cli/environment). Nothing else from the host. */
  readonly env: readonly (readonly [string, string])[];
  /**
   * Hosts the guest may reach with wasi:http/outgoing-handler: `host` or
   * `host:port`, `*.example.com` for subdomains. Empty means no outbound HTTP.
   */
  readonly allowedHosts: readonly string[];
  /** Bytes of stdout+stderr kept per invocation; the rest is counted and dropped. */
  readonly logBytes: number;
  /** Largest body (response or outbound request) the guest may write, in bytes. */
  readonly maxResponseBytes: number;
  /** Largest outbound response body the guest may read, in bytes. */
  readonly maxOutboundResponseBytes: number;
  /** Most header fields in one fields resource. */
  readonly maxHeaders: number;
  /** Largest total size of one fields resource (names + values), in bytes. */
  readonly maxHeaderBytes: number;
}

/** The invocation-side services WASI implementations use. */
export interface GuestContext extends CallContext {
  /** Request id, for logs. */
  readonly requestId: string;
  /** The function's policy. */
  readonly policy: GuestPolicy;
  /**
   * Suspends the guest until `p` settles, then re-runs the import that called
   * this. Return its result from the implementation. Traps when the guest
   * cannot be suspended.
   */
  suspend(p: Promise<unknown>): Suspended;
  /** Builds a trap with the invocation's details. */
  trap(message: string): Trap;
  /** Appends guest output to the invocation's log buffer (bounded by policy). */
  writeLog(stream: 'stdout' | 'stderr', bytes: Uint8Array): void;
  /** Monotonic time in ns, as wasi:clocks/monotonic-clock reports it. */
  monotonicNow(): bigint;
  /** Aborted when the invocation ends: outbound requests and timers stop with it. */
  readonly signal: AbortSignal;
  /** Host-side bookkeeping for wasi:http/types: the request and the response slot. */
  readonly http: HttpInvocationState;
}

/** Where the guest's response goes once it calls `response-outparam.set`. */
export interface HttpInvocationState {
  /** Called when the guest sets the response (ok or an error-code). */
  setResponse(result: { tag: 'ok'; val: unknown } | { tag: 'err'; val: unknown }): void;
}
