/**
 * One request through one fresh instance: the per-request state every WASI
 * implementation sees (handles, memory slots, policy, logs), the suspension
 * driver, and the rules for turning what the guest did into a web `Response`.
 *
 * Response delivery: a guest that sets its response and finishes the body
 * before it returns or waits is answered with a plain byte body. A guest that
 * waits (a timer, a slow request body) first gets its headers sent with a
 * streaming body, so the client sees each chunk as the guest writes it.
 */
import { HandleTable } from '../abi/handle-table.js';
import { MemSlot, register, SUSPENDED, type Suspended } from '../abi/canon.js';
import { Trap } from '../abi/trap.js';
import type { GuestLogLine } from '../observe/invocation-record.js';
import type { GuestContext, GuestPolicy, HttpInvocationState } from '../wasi/context.js';
import { monotonicNow } from '../wasi/clocks/clocks.js';
import { type BodyBuffer, pumpInto } from '../wasi/http/body.js';
import type { ErrorCode } from '../wasi/http/error-code.js';
import { Fields, latin1String } from '../wasi/http/fields.js';
import { IncomingBody, IncomingRequest, type OutgoingResponse, ResponseOutparam, methodFromString, type Scheme } from '../wasi/http/types.js';
import { InputStream } from '../wasi/io/streams.js';
import type { LiveInstance, PreparedComponent } from './prepared-component.js';
import { DeadlineExceeded, watchdog } from './watchdog/index.js';

/** Header carrying the request id on every function response. */
export const REQUEST_ID_HEADER = 'x-micron-request-id';

/**
 * Where Asyncify keeps a suspended guest's stack. The region is borrowed from
 * guest memory only while no guest code runs (between the end of an unwind
 * and the start of the matching rewind, the stack lives in a host buffer and
 * the guest's own bytes are put back), so it cannot collide with anything the
 * guest allocated: a guest may reuse any memory at any time.
 */
const SWAP_BASE = 16;
const SWAP_BYTES = 32 * 1024;

/** Request headers a guest never sees: hop-by-hop headers that belong to the connection. */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

const NO_LOGS: GuestLogLine[] = Object.freeze([]) as unknown as GuestLogLine[];
const NO_SLOTS: MemSlot[] = Object.freeze([]) as unknown as MemSlot[];

const HTTP: Scheme = Object.freeze({ tag: 'HTTP' });
const HTTPS: Scheme = Object.freeze({ tag: 'HTTPS' });

/** What the guest should see of the request. */
export interface GuestRequest {
  method: string;
  /** Path and query as the guest sees them (after route prefix stripping). */
  pathWithQuery: string;
  scheme: 'http' | 'https';
  authority: string | undefined;
  headers: Iterable<[string, string]>;
  /** The body, or null for none. */
  body: ReadableStream<Uint8Array> | null;
  /** Largest request body accepted. */
  maxBodyBytes: number;
  /**
   * Called when the body the guest reads goes over `maxBodyBytes` (its read
   * fails; the invocation then ends as `payload_too_large`, status 413).
   */
  onBodyOverLimit?: (() => void) | undefined;
  /**
   * The client's connection (under node:http). A streamed response
   * whose body fails after its head went out is cut off by closing it, rather than
   * ended with an error that the server would write into the body.
   */
  connection?: { destroy(): void } | null | undefined;
}

/** How an invocation ended. */
export type Outcome =
  | { kind: 'ok'; status: number }
  | { kind: 'trap'; reason: string; message: string }
  | { kind: 'no-response'; message: string }
  | { kind: 'error-code'; message: string };

/** Timings and counters of one invocation, in µs where timed. */
export interface InvocationStats {
  instantiateUs: number;
  guestUs: number;
  suspensions: number;
  memoryPages: number;
  bytesOut: number;
  /** Request body bytes the guest read. */
  bytesIn: number;
  logDropped: number;
}

/** A failure before a response was delivered: the server turns it into a 5xx with the request id. */
export class InvocationError extends Error {
  constructor(
    message: string,
    readonly outcome: Outcome,
  ) {
    super(message);
    this.name = 'InvocationError';
  }
}

/** One request through one fresh instance. */
export class Invocation implements GuestContext, HttpInvocationState {
  readonly handles = new HandleTable();
  slots: MemSlot[] = NO_SLOTS;
  readonly http: HttpInvocationState = this;
  readonly stats: InvocationStats = { instantiateUs: 0, guestUs: 0, suspensions: 0, memoryPages: 0, bytesOut: 0, bytesIn: 0, logDropped: 0 };
  /** Captured stdout/stderr lines, in order (a shared, frozen empty list until the guest writes one). */
  logs: GuestLogLine[] = NO_LOGS;
  outcome: Outcome | undefined;
  rewinding = false;

  /** Created on first use: most invocations never need a signal, and AbortController is costly. */
  private abort: AbortController | undefined;
  private ended = false;
  private live: LiveInstance | undefined;
  /** The guest's request body stream, once it asked for it (for `stats.bytesIn`). */
  private requestBody: InputStream | undefined;
  private unwinding = false;
  private pending: Promise<unknown> | undefined;
  /** The guest bytes under the swap region while it is lent to Asyncify. */
  private swapSaved: Uint8Array | undefined;
  /** The suspended stack (header included) while the guest waits. */
  private swapStack: Uint8Array | undefined;
  private response: { tag: 'ok'; val: OutgoingResponse } | { tag: 'err'; val: ErrorCode } | undefined;
  private delivered = false;
  /** The response (or failure) settled before anyone waited for it; see {@link start}. */
  private settled: Response | InvocationError | undefined;
  /** Set once {@link start} returned a promise: settles it. */
  private waiter: { resolve: (r: Response) => void; reject: (e: InvocationError) => void } | undefined;
  private onFinish: (() => void) | undefined;
  private startedAt = 0;
  /** A response to HEAD declares a length it does not send. */
  private headRequest = false;
  private connection: { destroy(): void } | null | undefined;
  private deadlineMs = 0;
  private guestMs = 0;
  private logBytes = 0;
  /** The request body limit, once the body went over it. */
  private bodyOverLimit: number | undefined;
  /** Guest output after its last newline, per stream (empty unless the guest writes). */
  private partialOut = '';
  private partialErr = '';

  constructor(
    private readonly prepared: PreparedComponent,
    readonly requestId: string,
    readonly policy: GuestPolicy,
  ) {}

  get signal(): AbortSignal {
    this.abort ??= new AbortController();
    if (this.ended) this.abort.abort();
    return this.abort.signal;
  }

  /**
   * Runs the guest for `req`. Returns the response as soon as it can be
   * delivered: the `Response` itself when the guest answered without waiting
   * (the common case: no promise and no microtask on the way), otherwise a
   * promise of it. Throws (or rejects with) an {@link InvocationError} when
   * the guest failed before a response could be delivered. The guest may
   * keep running after that to stream the body; `onFinish` is called once it
   * has finished, synchronously before `start` returns when it never waited.
   */
  start(req: GuestRequest, deadlineMs: number, onFinish?: () => void): Response | Promise<Response> {
    this.onFinish = onFinish;
    this.execute(req, deadlineMs);
    const settled = this.settled;
    if (settled instanceof Response) return settled;
    if (settled) throw settled;
    return new Promise<Response>((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /**
   * {@link start} with promises for both ends: `response` as above, `done`
   * settles when the guest has finished (for records and logs).
   */
  run(req: GuestRequest, deadlineMs: number): { response: Promise<Response>; done: Promise<void> } {
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    let response: Promise<Response>;
    try {
      response = Promise.resolve(this.start(req, deadlineMs, finished));
    } catch (e) {
      response = Promise.reject(e);
    }
    return { response, done };
  }

  /** Instantiates, builds the request's resources and runs the guest until it returns or waits. */
  private execute(req: GuestRequest, deadlineMs: number): void {
    const t0 = performance.now();
    this.startedAt = t0;
    this.headRequest = req.method === 'HEAD';
    this.connection = req.connection;
    this.deadlineMs = deadlineMs;
    try {
      // A start function is guest code too: a new instance is made under the deadline.
      this.live = this.prepared.takeIdle() ?? watchdog.call(instantiate, this.prepared, undefined, deadlineMs);
      this.slots = this.live.slots;
    } catch (e) {
      const deadline = e instanceof DeadlineExceeded;
      this.finishWith({ kind: 'trap', reason: deadline ? 'deadline' : 'instantiate', message: deadline ? e.message : `instantiation failed: ${errorMessage(e)}` });
      return;
    }
    this.stats.instantiateUs = Math.round((performance.now() - t0) * 1000);

    const incoming = new IncomingRequest(
      methodFromString(req.method),
      req.pathWithQuery,
      req.scheme === 'https' ? HTTPS : HTTP,
      req.authority,
      () => Fields.fromHeaders(req.headers, HOP_BY_HOP),
      () => {
        const body = (this.requestBody = new InputStream());
        if (req.body) {
          pumpInto(req.body, body, req.maxBodyBytes, () => {
            this.bodyOverLimit = req.maxBodyBytes;
            req.onBodyOverLimit?.();
          });
        }
        else body.end();
        return new IncomingBody(body);
      },
    );
    const reqHandle = this.handles.insert('wasi:http/types#incoming-request', incoming);
    const outHandle = this.handles.insert('wasi:http/types#response-outparam', new ResponseOutparam());
    this.step(reqHandle, outHandle);
  }

  /**
   * Calls into the guest (the entry, or a rewind into the import that
   * suspended) and handles how that call ended: finished, trapped, or
   * waiting, in which case the wait and the next step run asynchronously.
   */
  private step(reqHandle: number, outHandle: number): void {
    const live = this.live!;
    try {
      const g0 = performance.now();
      register.cx = this;
      try {
        // Stopped by the watchdog at the deadline even if it never yields (DeadlineExceeded).
        watchdog.call(live.entry, reqHandle, outHandle, this.deadlineMs - (g0 - this.startedAt));
      } finally {
        register.cx = undefined;
        this.guestMs += performance.now() - g0;
      }
      if (!this.unwinding) {
        this.stats.guestUs = Math.round(this.guestMs * 1000);
        this.finishWith(undefined);
        return;
      }
      // The guest is waiting: park its stack, settle what can be sent, then wait and rewind into the import.
      live.asyncify!.stopUnwind();
      this.unwinding = false;
      this.parkStack();
      this.stats.suspensions++;
      this.tryDeliver(false);
    } catch (e) {
      this.failWithTrap(e);
      return;
    }
    void this.resumeAfter(reqHandle, outHandle);
  }

  /** Waits for what the guest is waiting on (under the deadline), then rewinds it. */
  private async resumeAfter(reqHandle: number, outHandle: number): Promise<void> {
    try {
      await withDeadline(this.pending!, this.deadlineMs - (performance.now() - this.startedAt));
    } catch (e) {
      this.failWithTrap(e);
      return;
    }
    this.pending = undefined;
    this.rewinding = true;
    this.unparkStack();
    this.live!.asyncify!.startRewind(SWAP_BASE);
    this.step(reqHandle, outHandle);
  }

  private failWithTrap(e: unknown): void {
    this.stats.guestUs = Math.round(this.guestMs * 1000);
    const reason = e instanceof Trap ? e.reason : e instanceof DeadlineError || e instanceof DeadlineExceeded ? 'deadline' : 'guest_trap';
    this.finishWith({ kind: 'trap', reason, message: errorMessage(e) });
  }

  /** GuestContext: suspends the guest until `p` settles. */
  suspend(p: Promise<unknown>): Suspended {
    const a = this.live?.asyncify;
    const mem = this.live?.memory;
    if (!a || !mem) {
      throw this.trap('the guest must wait for I/O, but this component cannot be suspended (its blocking calls are not in its main module); see docs/architecture.md');
    }
    const u8 = new Uint8Array(mem.buffer);
    if (u8.length < SWAP_BASE + SWAP_BYTES) throw this.trap('cannot suspend: the guest memory is too small');
    this.swapSaved ??= new Uint8Array(SWAP_BYTES);
    this.swapSaved.set(u8.subarray(SWAP_BASE, SWAP_BASE + SWAP_BYTES));
    const dv = new DataView(mem.buffer);
    dv.setUint32(SWAP_BASE, SWAP_BASE + 8, true);
    dv.setUint32(SWAP_BASE + 4, SWAP_BASE + SWAP_BYTES, true);
    this.pending = p;
    this.unwinding = true;
    a.startUnwind(SWAP_BASE);
    return SUSPENDED;
  }

  /** Resumable: the guest has been rewound into the import that suspended. */
  stopRewind(): void {
    this.rewinding = false;
    this.live!.asyncify!.stopRewind();
    // Give the guest its bytes back before the import reads its arguments.
    const n = this.swapStack!.length;
    new Uint8Array(this.live!.memory!.buffer).set(this.swapSaved!.subarray(0, n), SWAP_BASE);
    this.swapStack = undefined;
  }

  /** After an unwind: move the saved stack to the host and restore the guest's bytes. */
  private parkStack(): void {
    const mem = this.live!.memory!;
    const end = new DataView(mem.buffer).getUint32(SWAP_BASE, true);
    const u8 = new Uint8Array(mem.buffer);
    this.swapStack = u8.slice(SWAP_BASE, end);
    u8.set(this.swapSaved!, SWAP_BASE);
  }

  /** Before a rewind: lend the region again and put the stack back. */
  private unparkStack(): void {
    const u8 = new Uint8Array(this.live!.memory!.buffer);
    const stack = this.swapStack!;
    this.swapSaved!.set(u8.subarray(SWAP_BASE, SWAP_BASE + stack.length));
    u8.set(stack, SWAP_BASE);
  }

  trap(message: string): Trap {
    return new Trap(message, 'abi_violation');
  }

  monotonicNow(): bigint {
    return monotonicNow();
  }

  writeLog(stream: 'stdout' | 'stderr', bytes: Uint8Array): void {
    const room = this.policy.logBytes - this.logBytes;
    if (room <= 0) {
      this.stats.logDropped += bytes.length;
      return;
    }
    const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
    this.stats.logDropped += bytes.length - kept.length;
    this.logBytes += kept.length;
    const text = (stream === 'stdout' ? this.partialOut : this.partialErr) + utf8.decode(kept);
    const lines = text.split('\n');
    const rest = lines.pop() ?? '';
    if (stream === 'stdout') this.partialOut = rest;
    else this.partialErr = rest;
    for (const line of lines) this.addLog(stream, line);
  }

  private addLog(stream: 'stdout' | 'stderr', line: string): void {
    if (this.logs === NO_LOGS) this.logs = [];
    this.logs.push({ stream, line });
  }

  /** HttpInvocationState: the guest called `response-outparam.set`. */
  setResponse(result: { tag: 'ok'; val: unknown } | { tag: 'err'; val: unknown }): void {
    this.response = result as { tag: 'ok'; val: OutgoingResponse } | { tag: 'err'; val: ErrorCode };
  }

  /** Delivers the response if it can be: `finished` is true once the guest has returned. */
  private tryDeliver(finished: boolean): void {
    if (this.delivered) return;
    const r = this.response;
    if (!r) {
      if (finished) this.fail({ kind: 'no-response', message: 'the guest returned without setting a response' });
      return;
    }
    if (r.tag === 'err') {
      this.fail({ kind: 'error-code', message: `the guest answered with error-code ${JSON.stringify(r.val, bigintJson)}` });
      return;
    }
    const resp = r.val;
    const buf: BodyBuffer | undefined = resp.body?.buffer;
    // A declared content-length must be what the body is: a client would wait for missing bytes.
    const declared = this.headRequest || nullBodyStatus(resp.status) ? undefined : resp.headers.contentLength();
    if (declared !== undefined) {
      // A complete body (or none, once the guest returned) must match it; one still being written may not pass it.
      const written = buf?.total ?? 0;
      const complete = buf ? buf.finished : finished;
      if (Number.isNaN(declared) || (complete ? written !== declared : written > declared)) {
        this.fail({ kind: 'trap', reason: 'body', message: `the guest declared content-length ${Number.isNaN(declared) ? '(malformed)' : declared} but its body is ${written} bytes` });
        return;
      }
      buf?.expectLength(declared);
    }
    // Set here, not on the finished Response: touching a Response's headers later defeats @hono/node-server's fast path.
    const headers = resp.headers.toHeaderInit(REQUEST_ID_HEADER, this.requestId);
    if (!buf) {
      // No body requested: answer once the guest returns (it may still ask for one before that).
      if (finished) {
        this.delivered = true;
        this.outcome ??= { kind: 'ok', status: resp.status };
        this.settle(new Response(null, { status: resp.status, headers }));
      }
      return;
    }
    if (buf.finished) {
      this.delivered = true;
      this.stats.bytesOut = buf.total;
      this.outcome ??= { kind: 'ok', status: resp.status };
      if (this.headRequest && !nullBodyStatus(resp.status)) {
        // HEAD: the headers a GET would get, its length included (the body the guest wrote is not sent), and no
        // body for a `Response` to give a default content-type to.
        if (resp.headers.contentLength() === undefined) {
          if (Array.isArray(headers)) headers.push(['content-length', String(buf.total)]);
          else headers['content-length'] = String(buf.total);
        }
        buf.takeBuffered();
        this.settle(new Response(null, { status: resp.status, headers }));
        return;
      }
      const bytes = buf.takeBuffered();
      this.settle(new Response(nullBodyStatus(resp.status) ? null : bodyInit(bytes, headers), { status: resp.status, headers }));
      return;
    }
    if (buf.failure || finished) {
      this.fail({
        kind: 'trap',
        reason: 'body',
        message: buf.failure ? `the response body failed: ${buf.failure.message}` : 'the guest returned without finishing the response body',
      });
      return;
    }
    // Still writing and about to wait: stream from here on.
    this.delivered = true;
    this.outcome ??= { kind: 'ok', status: resp.status };
    const connection = this.connection;
    this.settle(new Response(buf.toStream(connection ? () => connection.destroy() : undefined), { status: resp.status, headers }));
  }

  /** Hands the response (or the failure) to whoever waits for it, or keeps it for {@link start} to return. */
  private settle(r: Response | InvocationError): void {
    const w = this.waiter;
    if (!w) this.settled = r;
    else if (r instanceof Response) w.resolve(r);
    else w.reject(r);
  }

  private fail(outcome: Exclude<Outcome, { kind: 'ok' }>): void {
    this.outcome = outcome;
    if (!this.delivered) {
      this.delivered = true;
      this.settle(new InvocationError(outcome.message, outcome));
    }
  }

  private finishWith(trapOutcome: Exclude<Outcome, { kind: 'ok' }> | undefined): void {
    // The request broke a limit while the guest ran: that, not what the guest made of its failed read, is the outcome.
    if (this.bodyOverLimit !== undefined) {
      trapOutcome = { kind: 'trap', reason: 'payload_too_large', message: `the request body went over the limit of ${this.bodyOverLimit} bytes` };
    }
    if (trapOutcome) {
      this.outcome = trapOutcome;
      // Headers may already be out: end the body with an error so the client sees a truncated response.
      const buf = this.response?.tag === 'ok' ? this.response.val.body?.buffer : undefined;
      buf?.fail(new Error('the function failed while sending its response body'));
      this.fail(trapOutcome);
    } else {
      this.tryDeliver(true);
      const buf = this.response?.tag === 'ok' ? this.response.val.body?.buffer : undefined;
      if (buf && !buf.finished) buf.fail(new Error('the guest returned without finishing the response body'));
      if (buf) this.stats.bytesOut = buf.total;
      // A body that failed after its head went out (a limit, a length short of its content-length): the client saw it cut off.
      if (buf?.failure && this.outcome?.kind === 'ok') this.outcome = { kind: 'trap', reason: 'body', message: `the response body failed: ${buf.failure.message}` };
    }
    if (this.partialOut) this.addLog('stdout', this.partialOut);
    if (this.partialErr) this.addLog('stderr', this.partialErr);
    this.partialOut = this.partialErr = '';
    const live = this.live;
    if (live?.memory) this.stats.memoryPages = live.memory.buffer.byteLength / 65536;
    if (this.requestBody) this.stats.bytesIn = this.requestBody.bytesRead;
    this.ended = true;
    this.abort?.abort();
    this.live = undefined;
    const onFinish = this.onFinish;
    this.onFinish = undefined;
    try {
      if (live) this.prepared.release(live);
    } finally {
      onFinish?.();
    }
  }
}

class DeadlineError extends Error {}

/** `prepared.instantiate()` as a plain function, for {@link watchdog}. */
function instantiate(prepared: PreparedComponent): LiveInstance {
  return prepared.instantiate();
}

function withDeadline(p: Promise<unknown>, ms: number): Promise<unknown> {
  if (ms <= 0) return Promise.reject(new DeadlineError('the function exceeded its deadline while waiting'));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new DeadlineError('the function exceeded its deadline while waiting')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * The body to hand to `Response`. A small ASCII body with an explicit
 * content type goes as a string: node then writes head and body in one
 * syscall instead of a writev of two buffers (the bytes are identical). With
 * no content type a string body would make `Response` add one, so bytes stay
 * bytes there.
 */
function bodyInit(bytes: Uint8Array, headers: Record<string, string> | [string, string][]): BodyInit {
  if (bytes.length <= 16384 && !Array.isArray(headers) && 'content-type' in headers) {
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return latin1String(bytes);
  }
  return bytes as Uint8Array<ArrayBuffer>;
}

const utf8 = new TextDecoder();

function nullBodyStatus(status: number): boolean {
  return status === 101 || status === 204 || status === 205 || status === 304;
}

function errorMessage(e: unknown): string {
  if (e instanceof Error) return `${e.name === 'RuntimeError' ? 'wasm trap: ' : ''}${e.message}`;
  return String(e);
}

function bigintJson(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
