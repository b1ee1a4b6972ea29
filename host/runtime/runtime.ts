/**
 * Runs requests against resolved functions: builds the guest's policy from the
 * version's configuration and the host limits, runs a fresh instance, and
 * turns failures into a generic 5xx that carries only the request id. The
 * details (trap message, guest output) go to the host log.
 */
import { effectiveLimits, type EffectiveLimits, type HostLimits } from '../config.js';
import { billedGbS, type InvocationRecord } from '../observe/invocation-record.js';
import type { Logger } from '../observe/logger.js';
import type { FunctionStats, RejectionReason } from '../observe/metrics.js';
import type { Observer } from '../observe/observer.js';
import type { ResolvedFunction } from '../registry/registry.js';
import type { GuestPolicy } from '../wasi/context.js';
import { readWhole } from '../wasi/http/body.js';
import { ERROR_CODES, errorBodyJson, MicronError, type ErrorCode } from '../errors.js';
import { CommandError, type CommandRunner } from './command-runner.js';
import { DeadlineExceeded } from './watchdog/index.js';
import { Invocation, InvocationError, REQUEST_ID_HEADER, type GuestRequest } from './invocation.js';

export { REQUEST_ID_HEADER };

const prefix = Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0');
let counter = 0;

/** A new request id: unique within the process, short, and sortable by arrival. */
export function newRequestId(): string {
  counter = (counter + 1) | 0;
  return `${prefix}${(counter >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * What a guest may reach and how much it may use, from the limits that apply
 * to it and its function's configuration (no env, no outbound hosts by default).
 */
export function guestPolicy(
  limits: Pick<HostLimits, 'logBytesPerInvocation' | 'responseBodyBytes' | 'outboundResponseBytes' | 'maxHeaders' | 'maxHeaderBytes'>,
  config: { env?: Record<string, string>; allowedHosts?: string[] } = {},
): GuestPolicy {
  return {
    env: Object.entries(config.env ?? {}),
    allowedHosts: config.allowedHosts ?? [],
    logBytes: limits.logBytesPerInvocation,
    maxResponseBytes: limits.responseBodyBytes,
    maxOutboundResponseBytes: limits.outboundResponseBytes,
    maxHeaders: limits.maxHeaders,
    maxHeaderBytes: limits.maxHeaderBytes,
  };
}

/** Executes invocations. */
export class Runtime {
  private readonly policies = new WeakMap<object, GuestPolicy>();
  private readonly effective = new WeakMap<object, EffectiveLimits>();

  /**
   * @param observer receives every invocation's record (metrics, record log,
   *   one host log line); absent when the host runs with `observe: false`.
   */
  constructor(
    private readonly limits: HostLimits,
    private readonly logger: Logger,
    private readonly observer?: Observer,
  ) {}

  /**
   * Counts a request to `fn` that a limit refused before it ran (queue full,
   * queue timeout, body or headers too large), for the rejection metrics.
   */
  recordRejection(fn: string, reason: RejectionReason): void {
    this.observer?.recordRejection(fn, reason);
  }

  /** Requests waiting for a slot of `fn` changed by `delta`, for the queued-requests gauge. */
  queueChange(fn: string, delta: number): void {
    this.observer?.queueChange(fn, delta);
  }

  /**
   * Runs `req` on a fresh instance of `fn` and returns the response to send:
   * the `Response` itself when the guest answered without waiting (most
   * requests: no promise on the way), else a promise of it. `onDone` is
   * called once the guest has finished (its response body finished or
   * failed, or it trapped or was stopped): the server's concurrency slot is
   * held until then.
   */
  invoke(
    fn: ResolvedFunction,
    req: GuestRequest,
    requestId = newRequestId(),
    onDone?: () => void,
  ): Response | Promise<Response> {
    const limits = this.limitsOf(fn);
    const started = performance.now();
    if (fn.loaded.command) {
      return this.invokeCommand(fn, fn.loaded.command, req, requestId, limits, this.observer?.begin(fn.record.name), started).finally(onDone);
    }
    const inv = new Invocation(fn.loaded.prepared.withMemoryCap(limits.memoryPages), requestId, this.policy(fn));
    const stats = this.observer?.begin(fn.record.name);
    const finished = (): void => {
      try {
        this.record(fn, inv, stats, started);
      } catch (e) {
        this.logger.error('recording an invocation failed', { function: fn.record.name, requestId, detail: e instanceof Error ? e.message : String(e) });
      } finally {
        onDone?.();
      }
    };
    let response: Response | Promise<Response>;
    try {
      response = inv.start(req, limits.deadlineMs, finished);
    } catch (e) {
      return failureResponse(e, requestId);
    }
    return response instanceof Promise ? response.catch((e: unknown) => failureResponse(e, requestId)) : response;
  }

  /** Runs a command component (CGI contract): the body is read whole, the response parsed from stdout. */
  private async invokeCommand(
    fn: ResolvedFunction,
    runner: CommandRunner,
    req: Omit<GuestRequest, 'maxBodyBytes'>,
    requestId: string,
    limits: EffectiveLimits,
    stats: FunctionStats | undefined,
    started: number,
  ): Promise<Response> {
    const base = { function: fn.record.name, version: fn.version.id, requestId };
    let bytesIn = 0;
    const done = (status: number, bytesOut: number, stderr: string, detail?: string, reason?: string, memoryPages = 0, suspensions = 0): void => {
      if (!stats) return;
      const logs = stderr ? stderr.split('\n').filter((l) => l).map((line) => ({ stream: 'stderr' as const, line })) : [];
      // A command has no separate instantiate phase to report; its memory size drives billing.
      const s = { instantiateUs: 0, guestUs: 0, suspensions, memoryPages, bytesOut, bytesIn, logDropped: 0 };
      this.observer!.finish(stats, this.newRecord(fn, requestId, started, status, detail === undefined ? 'ok' : 'trap', bytesIn, bytesOut, logs, detail, s), reason);
    };
    try {
      const limit = limits.requestBodyBytes;
      const tooLarge = () => new MicronError('payload_too_large', `the request body is larger than the limit of ${limit} bytes`);
      const body = req.body ? await readWhole(req.body, limit, tooLarge) : new Uint8Array(0);
      bytesIn = body.length;
      const out = await runner.run({
        method: req.method,
        url: new URL(`${req.scheme}://${req.authority ?? 'localhost'}${req.pathWithQuery}`),
        headers: [...req.headers],
        body,
        env: fn.version.config.env,
        requestId,
        limits: { stdoutBytes: limits.responseBodyBytes, stderrBytes: limits.logBytesPerInvocation },
        deadlineMs: limits.deadlineMs - (performance.now() - started),
        // Outbound HTTP (micron:http/outbound) under the function's allow-list and limits, as for wasi:http guests.
        outbound: this.policy(fn),
      });
      if (stats) done(out.status, out.body.length, out.stderr, undefined, undefined, out.memoryPages ?? 0, out.suspensions ?? 0);
      else for (const line of out.stderr.split('\n')) if (line) this.logger.info(line, { ...base, stream: 'stderr' });
      const headers = [...out.headers, [REQUEST_ID_HEADER, requestId]] as [string, string][];
      return new Response(out.status === 204 || out.status === 304 ? null : (out.body as Uint8Array<ArrayBuffer>), { status: out.status, headers });
    } catch (e) {
      if (e instanceof MicronError && e.code === 'payload_too_large') {
        if (stats) done(413, 0, '', e.message, 'payload_too_large');
        return errorWithRequestId('payload_too_large', e.message, requestId);
      }
      if (e instanceof DeadlineExceeded) {
        if (stats) done(504, 0, '', e.message, 'deadline');
        else this.logger.warn('invocation failed', { ...base, outcome: 'trap', reason: 'deadline', detail: e.message });
        return errorWithRequestId('deadline_exceeded', `the function ran past its deadline; request id ${requestId}`, requestId);
      }
      const detail = e instanceof Error ? e.message : String(e);
      const stderr = e instanceof CommandError ? e.stderr : '';
      if (stats) done(500, 0, stderr.slice(0, 4096), detail);
      else this.logger.warn('invocation failed', { ...base, outcome: 'trap', detail, stderr: stderr.slice(0, 4096) });
      return errorWithRequestId('guest_error', `the function failed; details are in the host log under request id ${requestId}`, requestId);
    }
  }

  /** The function's limits: its configured overrides over the host's (cached per version). */
  limitsOf(fn: ResolvedFunction): EffectiveLimits {
    let l = this.effective.get(fn.version);
    if (!l) this.effective.set(fn.version, (l = effectiveLimits(this.limits, fn.version.config.limits)));
    return l;
  }

  private policy(fn: ResolvedFunction): GuestPolicy {
    let p = this.policies.get(fn.version);
    if (!p) {
      p = guestPolicy({ ...this.limits, ...this.limitsOf(fn) }, fn.version.config);
      this.policies.set(fn.version, p);
    }
    return p;
  }

  /** The guest is done: hands its record to the observer, or (observe off) logs only a failure. */
  private record(fn: ResolvedFunction, inv: Invocation, stats: FunctionStats | undefined, started: number): void {
    let o = inv.outcome;
    // A guest whose allocator found memory.grow failing at the function's limit traps (Rust aborts, AssemblyScript
    // throws): a trap with its memory at the limit is that limit's doing, not a fault of the guest's code.
    if (o?.kind === 'trap' && o.reason === 'guest_trap') {
      const cap = this.limitsOf(fn).memoryPages;
      if (inv.stats.memoryPages >= cap) o = { ...o, reason: 'memory', message: `${o.message} (its memory was at the function's limit of ${cap} pages: an allocation could not grow it)` };
    }
    if (!stats) {
      if (o && o.kind !== 'ok') {
        const base = { function: fn.record.name, version: fn.version.id, requestId: inv.requestId };
        this.logger.warn('invocation failed', { ...base, outcome: o.kind, reason: o.kind === 'trap' ? o.reason : undefined, detail: o.message, logs: inv.logs });
      }
      return;
    }
    const s = inv.stats;
    const status = !o ? 500 : o.kind === 'ok' ? o.status : failureStatus(o);
    const record = this.newRecord(fn, inv.requestId, started, status, o?.kind ?? 'ok', s.bytesIn, s.bytesOut, inv.logs, o && o.kind !== 'ok' ? o.message : undefined, s);
    this.observer!.finish(stats, record, o?.kind === 'trap' ? o.reason : undefined);
  }

  /** Builds the record of an invocation that started at `started` (performance.now()) and ends now. */
  private newRecord(
    fn: ResolvedFunction,
    requestId: string,
    started: number,
    status: number,
    outcome: InvocationRecord['outcome'],
    bytesIn: number,
    bytesOut: number,
    logs: InvocationRecord['logs'],
    detail: string | undefined,
    s?: Invocation['stats'],
  ): InvocationRecord {
    const elapsedMs = performance.now() - started;
    const runUs = Math.round(elapsedMs * 1000);
    // A cold start: the request waited for the component to load before the invocation began.
    const loadUs = Math.round((fn.loadMs ?? 0) * 1000);
    const totalUs = runUs + loadUs;
    const memoryPages = s?.memoryPages ?? 0;
    return {
      seq: 0,
      startedAt: Math.round(Date.now() - elapsedMs - (fn.loadMs ?? 0)),
      requestId,
      function: fn.record.name,
      version: fn.version.id,
      status,
      outcome,
      totalUs,
      loadUs,
      instantiateUs: s?.instantiateUs ?? 0,
      guestUs: s?.guestUs ?? 0,
      cold: fn.cold,
      memoryPages,
      bytesIn,
      bytesOut,
      // Billed for running, not for the host compiling the component.
      billedGbS: billedGbS(memoryPages, runUs),
      logs,
      logDropped: s?.logDropped ?? 0,
      detail,
    };
  }
}

/**
 * The answer to an invocation that failed before its response was
 * delivered: a generic 5xx with the request id (the details are in the log).
 * Anything but an {@link InvocationError} is a host bug and is rethrown.
 */
function failureResponse(e: unknown, requestId: string): Response {
  if (!(e instanceof InvocationError)) throw e;
  const status = failureStatus(e.outcome);
  const code: ErrorCode = status === 504 ? 'deadline_exceeded' : status === 502 ? 'upstream_error' : status === 413 ? 'payload_too_large' : 'guest_error';
  const message =
    status === 504
      ? `the function ran past its deadline; request id ${requestId}`
      : status === 413
        ? `${e.message}; request id ${requestId}`
        : `the function failed; details are in the host log under request id ${requestId}`;
  return errorWithRequestId(code, message, requestId);
}

/** The status a failed invocation is answered with (before its response head was sent). */
function failureStatus(o: { kind: string; reason?: string }): number {
  if (o.kind === 'trap' && o.reason === 'deadline') return 504;
  if (o.kind === 'trap' && o.reason === 'payload_too_large') return 413;
  return o.kind === 'error-code' ? 502 : 500;
}

/**
 * An error answer on the function traffic path: JSON with the request id, in
 * the body and in `x-micron-request-id` like every function response; the
 * status is the code's.
 */
export function errorWithRequestId(code: ErrorCode, message: string, requestId: string, extraHeaders?: Record<string, string>): Response {
  return new Response(errorBodyJson(code, message, requestId), {
    status: ERROR_CODES[code].status,
    headers: { 'content-type': 'application/json', [REQUEST_ID_HEADER]: requestId, ...extraHeaders },
  });
}
