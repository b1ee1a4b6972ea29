/**
 * Runs requests against resolved functions: builds the guest's policy from the
 * version's configuration and the host limits, runs a fresh instance, and
 * turns failures into a generic 5xx that carries only the request id. The
 * details (trap message, guest output) go to the host log.
 */
import type { HostLimits } from '../config.js';
import type { Logger } from '../observe/logger.js';
import type { ResolvedFunction } from '../registry/registry.js';
import type { GuestPolicy } from '../wasi/context.js';
import { MicronError, type ErrorCode } from '../errors.js';
import { CommandError, type CommandRunner } from './command-runner.js';
import { Invocation, InvocationError, REQUEST_ID_HEADER, type GuestRequest } from './invocation.js';

export { REQUEST_ID_HEADER };

const prefix = Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0');
let counter = 0;

/** A new request id: unique within the process, short, and sortable by arrival. */
export function newRequestId(): string {
  counter = (counter + 1) | 0;
  return `${prefix}${(counter >>> 0).toString(16).padStart(8, '0')}`;
}

/** Executes invocations. */
export class Runtime {
  private readonly policies = new WeakMap<object, GuestPolicy>();

  constructor(
    private readonly limits: HostLimits,
    private readonly logger: Logger,
  ) {}

  /** Runs `req` on a fresh instance of `fn`; resolves with the response to send. */
  async invoke(fn: ResolvedFunction, req: Omit<GuestRequest, 'maxBodyBytes'>, requestId = newRequestId()): Promise<Response> {
    if (fn.loaded.command) return this.invokeCommand(fn, fn.loaded.command, req, requestId);
    const inv = new Invocation(fn.loaded.prepared, requestId, this.policy(fn));
    const { response, done } = inv.run({ ...req, maxBodyBytes: this.limits.requestBodyBytes }, this.limits.deadlineMs);
    void done.then(() => this.record(fn, inv));
    try {
      return await response;
    } catch (e) {
      if (!(e instanceof InvocationError)) throw e;
      const status = e.outcome.kind === 'trap' && e.outcome.reason === 'deadline' ? 504 : e.outcome.kind === 'error-code' ? 502 : 500;
      const code: ErrorCode = status === 504 ? 'deadline_exceeded' : status === 502 ? 'upstream_error' : 'guest_error';
      const message =
        status === 504
          ? `the function ran past its deadline; request id ${requestId}`
          : `the function failed; details are in the host log under request id ${requestId}`;
      return jsonError(status, code, message, requestId);
    }
  }

  /** Runs a command component (CGI contract): the body is read whole, the response parsed from stdout. */
  private async invokeCommand(fn: ResolvedFunction, runner: CommandRunner, req: Omit<GuestRequest, 'maxBodyBytes'>, requestId: string): Promise<Response> {
    const base = { function: fn.record.name, version: fn.version.id, requestId };
    try {
      const body = req.body ? await readAll(req.body, this.limits.requestBodyBytes) : new Uint8Array(0);
      const out = await runner.run({
        method: req.method,
        url: new URL(`${req.scheme}://${req.authority ?? 'localhost'}${req.pathWithQuery}`),
        headers: [...req.headers],
        body,
        env: fn.version.config.env,
        requestId,
        limits: { stdoutBytes: this.limits.responseBodyBytes, stderrBytes: this.limits.logBytesPerInvocation },
      });
      for (const line of out.stderr.split('\n')) if (line) this.logger.info(line, { ...base, stream: 'stderr' });
      const headers = [...out.headers, [REQUEST_ID_HEADER, requestId]] as [string, string][];
      return new Response(out.status === 204 || out.status === 304 ? null : (out.body as Uint8Array<ArrayBuffer>), { status: out.status, headers });
    } catch (e) {
      if (e instanceof MicronError && e.code === 'payload_too_large') {
        return jsonError(413, 'payload_too_large', e.message, requestId);
      }
      const detail = e instanceof Error ? e.message : String(e);
      const stderr = e instanceof CommandError ? e.stderr : '';
      this.logger.warn('invocation failed', { ...base, outcome: 'trap', detail, stderr: stderr.slice(0, 4096) });
      return jsonError(500, 'guest_error', `the function failed; details are in the host log under request id ${requestId}`, requestId);
    }
  }

  private policy(fn: ResolvedFunction): GuestPolicy {
    let p = this.policies.get(fn.version);
    if (!p) {
      const l = this.limits;
      p = {
        env: Object.entries(fn.version.config.env),
        allowedHosts: fn.version.config.allowedHosts,
        logBytes: l.logBytesPerInvocation,
        maxResponseBytes: l.responseBodyBytes,
        maxOutboundResponseBytes: l.outboundResponseBytes,
        maxHeaders: l.maxHeaders,
        maxHeaderBytes: l.maxHeaderBytes,
      };
      this.policies.set(fn.version, p);
    }
    return p;
  }

  private record(fn: ResolvedFunction, inv: Invocation): void {
    const o = inv.outcome;
    const base = { function: fn.record.name, version: fn.version.id, requestId: inv.requestId };
    for (const l of inv.logs) this.logger.info(l.line, { ...base, stream: l.stream });
    if (inv.stats.logDropped > 0) this.logger.warn('guest output truncated', { ...base, droppedBytes: inv.stats.logDropped });
    if (o && o.kind !== 'ok') this.logger.warn('invocation failed', { ...base, outcome: o.kind, reason: o.kind === 'trap' ? o.reason : undefined, detail: o.message });
  }
}

function jsonError(status: number, code: ErrorCode, message: string, requestId: string): Response {
  return new Response(JSON.stringify({ error: { code, message, requestId } }), {
    status,
    headers: { 'content-type': 'application/json', [REQUEST_ID_HEADER]: requestId },
  });
}

/** Reads a whole body up to `limit` bytes; throws payload_too_large beyond it. */
async function readAll(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new MicronError('payload_too_large', `the request body is larger than the limit of ${limit} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
