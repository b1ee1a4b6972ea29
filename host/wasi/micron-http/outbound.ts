/**
 * micron:http/outbound@0.1.0 (wit/deps/micron-http@0.1.0): outbound HTTP
 * for command guests (Go functions), which cannot use wasi:http's resources.
 *
 * The policy is wasi:http/outgoing-handler's: a request is denied unless the
 * function's allowedHosts names the destination ({@link isAllowed}, checked
 * on the URL the host will connect to), redirects are not followed (the
 * guest's client follows them, each hop checked again), and a response body
 * over the function's outbound limit is an error, not a truncation.
 *
 * The guest never blocks the host. `start` copies the request out of guest
 * memory, begins the real request and returns a ticket at once; the guest then
 * pauses (returns from the host's call into it). The command runner awaits
 * {@link Outbound.whenSettled} under the invocation's deadline and resumes
 * the guest, which reads its result with `state`, `result-len` and
 * `take-result`. A run that cannot wait (the snapshot's init run, a
 * synchronous run) gets every request settled at once with an
 * `unavailable` error, so the guest never pauses for nothing.
 *
 * One {@link Outbound} belongs to one instance, like its Preview1 state;
 * {@link Outbound.begin} and {@link Outbound.end} bracket each run.
 */
import type { GuestPolicy } from '../context.js';
import type { GuestMemory } from '../preview1/guest-memory.js';
import { isAllowed } from '../http/outgoing-handler.js';
import { send as sendRequest } from '../http/client.js';
import { FORBIDDEN_HEADERS, withoutHopByHop } from '../http/fields.js';
import { readWhole } from '../http/body.js';
import { denied, fromClientError, OutboundFailure, requestTooLarge, responseTooLarge, timedOut, unavailable } from './error.js';
import { encodeResponse, parseRequest, type WireRequest } from './wire.js';

/** The import module name of the interface. */
export const OUTBOUND_MODULE = 'micron:http/outbound@0.1.0';

/** A ticket's state, as `state` returns it. */
export const TicketState = { pending: 0, response: 1, failed: 2, unknown: 3 } as const;

/**
 * What a function's guest may reach, and how much it may move: the part of
 * the function's policy wasi:http/outgoing-handler applies too.
 */
export type OutboundPolicy = Pick<GuestPolicy, 'allowedHosts' | 'maxResponseBytes' | 'maxOutboundResponseBytes'>;

/** One run's terms. */
export interface OutboundRun {
  readonly policy: OutboundPolicy;
  /**
   * Set when the host cannot wait for a response in this run: every request
   * fails at once with an `unavailable` error ending in this text.
   */
  readonly unavailable?: string;
}

/**
 * Most tickets (pending, or settled and not yet taken) one run may hold; a
 * guest starting another traps. The Go SDK takes every result at once, so
 * for it this is the number of requests in flight together.
 */
export const MAX_TICKETS = 64;

/**
 * Response headers never handed to the guest: hop-by-hop ones, and the
 * length, which the wire form redoes. The body is passed on as sent
 * (`content-encoding` stays with it).
 */
const DROPPED_RESPONSE_HEADERS: ReadonlySet<string> = new Set([...FORBIDDEN_HEADERS, 'content-length']);
/** Request headers never sent: hop-by-hop and host-controlled ones, and `expect` (the whole body is sent at once). */
const DROPPED_REQUEST_HEADERS: ReadonlySet<string> = new Set([...FORBIDDEN_HEADERS, 'expect']);

/** A policy that denies everything (the default when a caller passes none). */
export const DENY_ALL: OutboundPolicy = Object.freeze({ allowedHosts: [], maxResponseBytes: 0, maxOutboundResponseBytes: 0 });

/** Between runs every request fails (no guest runs then; a stray call gets a clear error). */
const BETWEEN_RUNS: OutboundRun = Object.freeze({ policy: DENY_ALL, unavailable: 'outside a request' });

interface Ticket {
  state: number;
  result: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** One instance's micron:http/outbound state and its imports. */
export class Outbound {
  /** The import object's entry for {@link OUTBOUND_MODULE}. */
  readonly imports: Record<string, (...args: number[]) => number>;
  readonly #memory: GuestMemory;
  readonly #tickets = new Map<number, Ticket>();
  #run: OutboundRun = BETWEEN_RUNS;
  #controller = new AbortController();
  #next = 1;
  #pending = 0;
  #waiters: (() => void)[] = [];

  /** @param memory - the instance's memory, bound before the guest runs (its Preview1's) */
  constructor(memory: GuestMemory) {
    this.#memory = memory;
    this.imports = {
      start: (ptr: number, len: number, timeoutMs: number) => this.#start(ptr >>> 0, len >>> 0, timeoutMs >>> 0),
      state: (ticket: number) => this.#tickets.get(ticket >>> 0)?.state ?? TicketState.unknown,
      'result-len': (ticket: number) => {
        const t = this.#tickets.get(ticket >>> 0);
        return t && t.state !== TicketState.pending ? t.result.length : 0;
      },
      'take-result': (ticket: number, ptr: number, len: number) => this.#take(ticket >>> 0, ptr >>> 0, len >>> 0),
    };
  }

  /** Starts a run: requests from now on follow `run`. */
  begin(run: OutboundRun): void {
    this.end();
    this.#run = run;
  }

  /** Ends the run: requests still in flight are aborted and every ticket is forgotten. */
  end(): void {
    if (this.#tickets.size > 0 || this.#pending > 0) {
      this.#controller.abort();
      this.#controller = new AbortController();
      this.#tickets.clear();
      this.#pending = 0;
    }
    this.#run = BETWEEN_RUNS;
    this.#wake();
  }

  /** Requests of this run still waiting for their response. */
  get pending(): number {
    return this.#pending;
  }

  /** Resolves when a pending request settles (at once when none is pending). */
  whenSettled(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #start(ptr: number, len: number, timeoutMs: number): number {
    const bytes = this.#memory.bytes;
    if (ptr + len > bytes.length) throw new RangeError(`micron:http/outbound start: request [${ptr}, +${len}) is outside guest memory`);
    if (this.#tickets.size >= MAX_TICKETS) throw new RangeError(`micron:http/outbound start: more than ${MAX_TICKETS} requests started and not taken`);
    const id = this.#next;
    this.#next = this.#next >= 0x7fffffff ? 1 : this.#next + 1;
    const run = this.#run;
    try {
      if (run.unavailable !== undefined) throw unavailable(run.unavailable);
      const request = parseRequest(bytes.slice(ptr, ptr + len));
      if (!isAllowed(request.url, run.policy.allowedHosts)) throw denied(request.url);
      if (request.body.length > run.policy.maxResponseBytes) throw requestTooLarge(run.policy.maxResponseBytes);
      const ticket: Ticket = { state: TicketState.pending, result: EMPTY };
      this.#tickets.set(id, ticket);
      this.#pending++;
      void send(request, run.policy, this.#controller.signal, timeoutMs).then((outcome) => this.#settle(id, ticket, outcome));
    } catch (error) {
      if (!(error instanceof OutboundFailure)) throw error;
      this.#tickets.set(id, { state: TicketState.failed, result: error.encode() });
    }
    return id;
  }

  #settle(id: number, ticket: Ticket, outcome: Uint8Array | OutboundFailure | undefined): void {
    // A ticket of a run that ended meanwhile is gone: nobody is waiting for it.
    if (outcome === undefined || this.#tickets.get(id) !== ticket) return;
    if (outcome instanceof OutboundFailure) {
      ticket.state = TicketState.failed;
      ticket.result = outcome.encode();
    } else {
      ticket.state = TicketState.response;
      ticket.result = outcome;
    }
    this.#pending--;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    if (waiters.length === 0) return;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  #take(id: number, ptr: number, len: number): number {
    const ticket = this.#tickets.get(id);
    if (!ticket || ticket.state === TicketState.pending) return 0;
    const n = Math.min(len, ticket.result.length);
    const bytes = this.#memory.bytes;
    if (ptr + n > bytes.length) throw new RangeError(`micron:http/outbound take-result: buffer [${ptr}, +${n}) is outside guest memory`);
    bytes.set(ticket.result.subarray(0, n), ptr);
    this.#tickets.delete(id);
    return n;
  }
}

/**
 * Makes the request with the host's outbound client and reads the whole
 * response (bounded). Resolves with the response's bytes, an
 * {@link OutboundFailure}, or undefined when the run ended first (`signal`
 * aborted).
 */
async function send(request: WireRequest, policy: OutboundPolicy, signal: AbortSignal, timeoutMs: number): Promise<Uint8Array | OutboundFailure | undefined> {
  const { method, url } = request;
  const timeout = timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined;
  const abort = timeout ? AbortSignal.any([signal, timeout]) : signal;
  const headers = withoutHopByHop(request.headers, DROPPED_REQUEST_HEADERS);
  const failure = (error: unknown): OutboundFailure | undefined => {
    if (signal.aborted) return undefined;
    if (timeout?.aborted) return timedOut(url, timeoutMs);
    return error instanceof OutboundFailure ? error : fromClientError(url, error);
  };
  try {
    const res = await sendRequest({ method, url, headers, body: request.body, signal: abort });
    const declared = Number(res.headers.find(([name]) => name === 'content-length')?.[1] ?? NaN);
    const limit = policy.maxOutboundResponseBytes;
    if (declared > limit) {
      await res.body.cancel().catch(() => undefined);
      return responseTooLarge(url, limit);
    }
    const body = await readWhole(res.body, limit, () => responseTooLarge(url, limit));
    const kept = withoutHopByHop(res.headers, DROPPED_RESPONSE_HEADERS);
    // A HEAD response describes the body it did not send.
    const length = method === 'HEAD' && Number.isInteger(declared) ? declared : body.length;
    return encodeResponse(res.status, res.statusText, kept, body, length);
  } catch (error) {
    return failure(error);
  }
}
