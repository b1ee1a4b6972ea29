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
import { Invocation, InvocationError, type GuestRequest } from './invocation.js';

/** Header carrying the request id on every function response. */
export const REQUEST_ID_HEADER = 'x-micron-request-id';

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
    const inv = new Invocation(fn.loaded.prepared, requestId, this.policy(fn));
    const { response, done } = inv.run({ ...req, maxBodyBytes: this.limits.requestBodyBytes }, this.limits.deadlineMs);
    void done.then(() => this.record(fn, inv));
    try {
      const res = await response;
      res.headers.set(REQUEST_ID_HEADER, requestId);
      return res;
    } catch (e) {
      if (!(e instanceof InvocationError)) throw e;
      const status = e.outcome.kind === 'trap' && e.outcome.reason === 'deadline' ? 504 : e.outcome.kind === 'error-code' ? 502 : 500;
      const code = status === 504 ? 'deadline_exceeded' : status === 502 ? 'upstream_error' : 'guest_error';
      const message =
        status === 504
          ? `the function ran past its deadline; request id ${requestId}`
          : `the function failed; details are in the host log under request id ${requestId}`;
      return new Response(JSON.stringify({ error: { code, message, requestId } }), {
        status,
        headers: { 'content-type': 'application/json', [REQUEST_ID_HEADER]: requestId },
      });
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
