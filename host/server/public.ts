/**
 * The public listener: function traffic. A request reaches function `name`
 * either by path (`/<name>/<rest>`) or by host (`<name>.<domain>/<rest>`).
 *
 * What the guest sees (documented in README.md, tested in test/runtime.test.ts and
 * test/wire.test.ts):
 * - method: the request method;
 * - path-with-query: `/<rest>` plus the query string, as the client sent it
 *   (dot segments are not resolved); with path routing the `/<name>` prefix is
 *   removed (`/hello` and `/hello/` both become `/`);
 * - scheme: `http`; authority: the Host header;
 * - headers: every request header, its value's bytes as sent, except
 *   hop-by-hop ones (`connection`, `keep-alive`, `transfer-encoding`,
 *   `upgrade`, `te`, `trailer`, `proxy-connection`, `http2-settings`, and
 *   any that the `connection` header names);
 * - body: streamed, up to the request body limit.
 *
 * Admission (policy at one seam): a request with too many or too large
 * headers is answered 431 before any function is looked at; then the
 * function's concurrency slot is taken from the {@link Limiter} (429 with
 * `Retry-After` when its queue is full or the wait timed out) and given back
 * when the guest has finished, i.e. when its response body finished or
 * failed, not when the headers were sent.
 */
import type { IncomingMessage } from 'node:http';
import { Hono } from 'hono';
import type { Logger } from '../observe/logger.js';
import type { Registry } from '../registry/registry.js';
import type { EffectiveLimits, HostLimits } from '../config.js';
import { hostName, type ResolvedFunction } from '../registry/registry.js';
import { Limiter, type Permit, type Refusal } from '../runtime/limiter.js';
import { errorWithRequestId, newRequestId, type Runtime } from '../runtime/runtime.js';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import { onError } from './errors.js';
import { invokeDenied } from './invoke-auth.js';

/**
 * Marks node's request as arriving straight from Micron's own listener
 * (`host.listen()`), where nothing stands between node's parser and this
 * app. Only then does the app read node's parsed request (`env.incoming`),
 * which is faster than the web `Request`; mounted in someone else's app, it
 * reads the `Request` it is handed, as the parent's middleware left it
 * (a header it removed must not reach the guest or the invocation check).
 */
export const TRUSTED_INCOMING: unique symbol = Symbol('micron.trustedIncoming');

/** Dependencies of the public app. */
export interface PublicAppDeps {
  registry: Registry;
  runtime: Runtime;
  logger: Logger;
  /** Host-routing domain: `<name>.<domain>`; false: no host routing. */
  domain: string | false;
  /** Host limits (admission, header sizes); each function may override some in its configuration. */
  limits: HostLimits;
}

/**
 * Splits a request into the function it targets and the path the guest sees.
 * `target` is the request target (`/path?query`); `mount` is the prefix the
 * app is mounted under in a parent Hono app (empty when it serves the whole
 * origin), which is not part of what the guest sees.
 */
export function route(target: string, host: string | undefined, domain: string | false, mount = ''): { name: string; pathWithQuery: string } | undefined {
  const q = target.indexOf('?');
  const fullPath = q === -1 ? target : target.slice(0, q);
  const search = q === -1 ? '' : target.slice(q);
  const path = mount && fullPath.startsWith(mount) ? fullPath.slice(mount.length) || '/' : fullPath;
  if (host && domain !== false) {
    const h = hostName(host);
    // `<name>.<domain>`: one label before the domain (compared without building `.${domain}`).
    const at = h.length - domain.length - 1;
    if (at > 0 && h.charCodeAt(at) === 46 && h.endsWith(domain)) {
      const name = h.slice(0, at);
      if (!name.includes('.')) return { name, pathWithQuery: path + search };
    }
  }
  const slash = path.indexOf('/', 1);
  let name = slash === -1 ? path.slice(1) : path.slice(1, slash);
  if (name.includes('%')) {
    try {
      name = decodeURIComponent(name);
    } catch {
      return undefined;
    }
  }
  if (!name) return undefined;
  const rest = slash === -1 ? '/' : path.slice(slash);
  return { name, pathWithQuery: rest + search };
}

/** The `/path?query` and the authority of an absolute request URL, without a full URL parse. */
function splitUrl(url: string): { authority: string | undefined; target: string } {
  const start = url.indexOf('://') + 3;
  const slash = url.indexOf('/', start);
  return slash === -1 ? { authority: url.slice(start), target: '/' } : { authority: url.slice(start, slash), target: url.slice(slash) };
}

/** A request on its way to a function, as the handler's later steps need it. */
interface Call {
  req: Request;
  incoming: IncomingMessage | undefined;
  pathWithQuery: string;
  authority: string | undefined;
}

/** How long an immediate 429 (queue full) is held before it is sent, ms. */
const REFUSAL_DELAY_MS = 100;

/** The public app, and its answer to node's `checkContinue` (see {@link PublicApp.wantsBody}). */
export interface PublicApp {
  app: Hono;
  /**
   * False when a request that sent `Expect: 100-continue` will be refused
   * without its body being read (no such function, or a declared length over
   * the function's limit): the listener then answers without sending
   * `100 Continue`, so the client does not upload a body that would be
   * thrown away. True otherwise (the refusal, if any, comes later).
   */
  wantsBody(incoming: IncomingMessage): boolean;
}

/** Creates the Hono app that serves function traffic. */
export function createPublicApp(deps: PublicAppDeps): PublicApp {
  const app = new Hono();
  const limiter = new Limiter(deps.limits.hostMaxInFlight, (name, delta) => deps.runtime.queueChange(name, delta));
  app.onError(onError(deps.logger));
  // The handler stays synchronous for as long as nothing has to wait: a request whose
  // function is loaded, whose slot is free and whose guest answers without waiting
  // returns its Response directly (no promise, no microtask on the way out).
  app.all('*', (c): Response | Promise<Response> => {
    if (deps.registry.closed) return errorWithRequestId('host_closed', 'this host is closed', newRequestId());
    const req = c.req.raw;
    // From Micron's own listener, read node's already-parsed headers: touching `req.headers`
    // would make @hono/node-server build a full web Headers object for every request.
    const fromNode = (c.env as { incoming?: IncomingMessage & { [TRUSTED_INCOMING]?: true } } | undefined)?.incoming;
    const incoming = fromNode?.[TRUSTED_INCOMING] === true ? fromNode : undefined;
    // There, route on the request target as the client sent it: the URL parser behind `req.url` resolves
    // dot segments, even encoded ones, so `/hello/%2e%2e/inspect/` would run another function than
    // the one its path names (a front proxy that routes tenants by path prefix relies on that name).
    const sent = incoming?.url;
    const url = sent !== undefined && sent.charCodeAt(0) === 47 /* / */ ? { target: sent, authority: undefined } : splitUrl(req.url);
    const host = incoming ? incoming.headers.host : (req.headers.get('host') ?? undefined);
    // Under `parent.route('/fn', host.app)` the route path is `/fn/*`: strip that prefix.
    const mount = c.req.routePath.endsWith('*') ? c.req.routePath.slice(0, -1).replace(/\/$/, '') : '';
    const target = findTarget(host, url.target, mount);
    if (!target) return refusal(undefined, 'function_not_found', 'no function in the request path; call /<name>/…');
    const resolved = deps.registry.resolve(target.name);
    if (!resolved) return refusal(target.name, 'function_not_found', `no function named ${JSON.stringify(target.name)}`);
    const tooLarge = headersTooLarge(incoming ? incoming.rawHeaders : req.headers, url.target.length, deps.limits);
    if (tooLarge) {
      deps.runtime.recordRejection(target.name, 'header_too_large');
      return refusal(target.name, 'header_too_large', tooLarge);
    }
    const call: Call = { req, incoming, pathWithQuery: target.pathWithQuery, authority: host ?? url.authority };
    return resolved instanceof Promise ? resolved.then((fn) => admit(call, fn), (e: unknown) => loadFailed(target.name, e)) : admit(call, resolved);
  });

  /** The function a request is for: a configured route first, then host or path routing. */
  function findTarget(host: string | undefined, target: string, mount: string): { name: string; pathWithQuery: string } | undefined {
    return deps.registry.matchRoute(host, target, mount) ?? route(target, host, deps.domain, mount);
  }

  /**
   * A refusal before the function ran: answered with a request id and logged
   * under it (an unknown function at debug level, since scanners make many;
   * the others at info), so a client's report can be traced.
   */
  function refusal(fn: string | undefined, code: ErrorCode, message: string, extra?: Record<string, string>, fields?: Record<string, unknown>): Response {
    const requestId = newRequestId();
    const level = code === 'function_not_found' ? 'debug' : 'info';
    if (deps.logger.enabled(level)) {
      deps.logger.log(level, 'request refused', { ...(fn === undefined ? {} : { function: fn }), requestId, status: ERROR_CODES[code].status, code, detail: message, ...fields });
    }
    return errorWithRequestId(code, message, requestId, extra);
  }

  /** The function's stored component could not be loaded (a cold start failed): a host failure, logged under the request id. */
  function loadFailed(fn: string, e: unknown): Response {
    const requestId = newRequestId();
    deps.logger.error('function could not be loaded', { function: fn, requestId, detail: e instanceof Error ? e.message : String(e) });
    return errorWithRequestId('internal', `function ${JSON.stringify(fn)} could not be loaded; details are in the host log under request id ${requestId}`, requestId);
  }

  /** Authorisation and size checks, then the function's concurrency slot. */
  function admit(call: Call, fn: ResolvedFunction): Response | Promise<Response> {
    const { req, incoming } = call;
    const denied = invokeDenied(fn.version.config, incoming ? incoming.headers.authorization : req.headers.get('authorization'));
    if (denied) return refusal(fn.record.name, 'unauthorized', denied, { 'www-authenticate': 'Bearer' });
    const limits = deps.runtime.limitsOf(fn);

    const withBody = incoming ? incomingHasBody(incoming) : hasBody(req);
    const declared = withBody ? Number(incoming ? incoming.headers['content-length'] : req.headers.get('content-length')) : 0;
    if (declared > limits.requestBodyBytes) {
      deps.runtime.recordRejection(fn.record.name, 'payload_too_large');
      return refusal(fn.record.name, 'payload_too_large', `the request body is ${declared} bytes; the limit of function ${JSON.stringify(fn.record.name)} is ${limits.requestBodyBytes}`);
    }
    const admitted = limiter.acquire(fn.record.name, limits, () => req.signal);
    return admitted instanceof Promise ? admitted.then((a) => run(call, fn, limits, withBody, declared, a)) : run(call, fn, limits, withBody, declared, admitted);
  }

  /** Runs the admitted request, or answers the refusal. */
  function run(call: Call, fn: ResolvedFunction, limits: EffectiveLimits, withBody: boolean, declared: number, admitted: Permit | Refusal): Response | Promise<Response> {
    if ('refused' in admitted) {
      // Hold an immediate refusal briefly (no CPU: a timer): a client that retries in a
      // tight loop is slowed to a trickle instead of taking the event loop from the
      // other tenants. Refusals that already waited in the queue go out at once.
      if (admitted.refused === 'queue_full' && REFUSAL_DELAY_MS > 0) {
        return new Promise((resolve) => setTimeout(() => resolve(tooManyRequests(fn, limits, admitted)), REFUSAL_DELAY_MS));
      }
      return tooManyRequests(fn, limits, admitted);
    }
    const permit = admitted;
    const { req, incoming } = call;

    // A body without a declared length is counted as the guest reads it: past the limit the
    // guest's read fails, and if the guest has not sent its response head yet the client gets 413.
    const body: ReadableStream<Uint8Array> | null = withBody ? req.body : null;
    if (body && (req.bodyUsed || body.locked)) {
      // Mounted in another app whose middleware read the body first: the embedder's mistake, not the guest's.
      permit.release();
      const requestId = newRequestId();
      deps.logger.error('the request body was read before it reached the function', { function: fn.record.name, requestId, fix: 'let the parent app pass the body on unread (or as a new Request with it)' });
      return errorWithRequestId('internal', `the request body was already read before it reached function ${JSON.stringify(fn.record.name)}; details are in the host log under request id ${requestId}`, requestId);
    }
    let overLimit: Promise<void> | undefined;
    let onBodyOverLimit: (() => void) | undefined;
    if (body && !(declared > 0)) overLimit = new Promise<void>((resolve) => (onBodyOverLimit = resolve));
    let response: Response | Promise<Response>;
    // Made here so that a 413 for a body that went over the limit carries the invocation's own id.
    const requestId = newRequestId();
    try {
      response = deps.runtime.invoke(
        fn,
        {
          method: req.method,
          pathWithQuery: call.pathWithQuery,
          scheme: 'http',
          authority: call.authority,
          headers: incoming ? new RawHeaderPairs(incoming.rawHeaders) : (req.headers as unknown as Iterable<[string, string]>),
          body,
          maxBodyBytes: limits.requestBodyBytes,
          onBodyOverLimit,
          connection: incoming?.socket,
        },
        requestId,
        permit.release,
      );
    } catch (e) {
      permit.release();
      throw e;
    }
    if (response instanceof Promise) response = response.catch((e: unknown) => (permit.release(), Promise.reject(e)));
    return overLimit ? raceOverLimit(fn, limits, Promise.resolve(response), overLimit, incoming, requestId) : response;
  }

  /** The guest's response, or 413 if the undeclared request body went over the limit before the guest answered. */
  async function raceOverLimit(
    fn: ResolvedFunction,
    limits: EffectiveLimits,
    response: Promise<Response>,
    overLimit: Promise<void>,
    incoming: IncomingMessage | undefined,
    requestId: string,
  ): Promise<Response> {
    const first = await Promise.race([response, overLimit]);
    if (first instanceof Response) return abortOnOverLimit(first, overLimit, incoming);
    void response.then((r) => r.body?.cancel().catch(() => undefined)).catch(() => undefined);
    // Counted by the invocation's record (outcome payload_too_large), not here.
    return errorWithRequestId('payload_too_large', `the request body is larger than the limit of function ${JSON.stringify(fn.record.name)} (${limits.requestBodyBytes} bytes)`, requestId);
  }

  /** 429 with `Retry-After`: the function (or the host) is at its limit and the request could not wait. */
  function tooManyRequests(fn: ResolvedFunction, limits: EffectiveLimits, r: Refusal): Response {
    const name = JSON.stringify(fn.record.name);
    const why =
      r.refused === 'queue_full'
        ? `function ${name} is at its limit (${limits.maxInFlight} running, ${limits.maxQueued} waiting), or the host at its limit of ${deps.limits.hostMaxInFlight} running; retry later`
        : r.refused === 'queue_timeout'
          ? `function ${name} was busy for ${limits.queueTimeoutMs} ms; retry later`
          : 'the client went away while the request was waiting';
    deps.runtime.recordRejection(fn.record.name, r.refused === 'aborted' ? 'other' : r.refused);
    return refusal(fn.record.name, 'too_many_requests', why, { 'retry-after': '1' }, { reason: r.refused, waitedMs: Math.round(r.waitedMs) });
  }

  function wantsBody(incoming: IncomingMessage): boolean {
    const target = findTarget(incoming.headers.host, incoming.url ?? '/', '');
    if (!target) return false;
    const resolved = deps.registry.resolve(target.name);
    if (!resolved) return false;
    // A cold function's limits are known once it is loaded: let the upload start, the app still enforces them.
    if (resolved instanceof Promise) {
      resolved.catch(() => undefined);
      return true;
    }
    const declared = Number(incoming.headers['content-length']);
    return !(declared > deps.runtime.limitsOf(resolved).requestBodyBytes);
  }
  return { app, wantsBody };
}

/**
 * Checks a request's header count and total size (the request target plus
 * header names and values, as node counts its own header limit) against the
 * limits; returns why it is refused, or undefined. `raw` is node's
 * `rawHeaders` (name, value, name, value, …) or web Headers.
 */
function headersTooLarge(raw: string[] | Headers, targetLength: number, limits: Pick<HostLimits, 'maxHeaders' | 'maxHeaderBytes'>): string | undefined {
  let count = 0;
  let bytes = targetLength;
  if (Array.isArray(raw)) {
    count = raw.length >> 1;
    for (let i = 0; i < raw.length; i++) bytes += raw[i]!.length;
  } else {
    raw.forEach((v, k) => {
      count++;
      bytes += k.length + v.length;
    });
  }
  if (count > limits.maxHeaders) return `the request has ${count} header fields; the limit is ${limits.maxHeaders}`;
  if (bytes > limits.maxHeaderBytes) return `the request target and headers are ${bytes} bytes; the limit is ${limits.maxHeaderBytes}`;
  return undefined;
}

/**
 * The response of a guest that answered before its request body went over the
 * limit: if the body does go over while the response still streams, the
 * response is aborted rather than ended, so the client cannot take a body the
 * guest cut short (it saw a failed read) for a complete one.
 */
function abortOnOverLimit(res: Response, overLimit: Promise<void>, incoming: IncomingMessage | undefined): Response {
  if (incoming) {
    // On node:http, close the connection: the response is cut off and the upload stops.
    void overLimit.then(() => incoming.socket?.destroy());
    return res;
  }
  const source = res.body;
  if (!source) return res;
  const reader = source.getReader();
  let failed = false;
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        void overLimit.then(() => {
          failed = true;
          controller.error(new Error('the request body went over the limit'));
          void reader.cancel().catch(() => undefined);
        });
      },
      async pull(controller) {
        const { done, value } = await reader.read();
        if (failed) return;
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: res.status, headers: res.headers });
}

/**
 * The name/value pairs of node's `rawHeaders`, iterated only if the guest
 * reads its headers. A class rather than an object literal with a computed
 * generator method, which V8 creates on a slow path (about 0.3 µs against
 * 0.01 µs, measured in a loop; more under load in the server's profile).
 */
class RawHeaderPairs implements Iterable<[string, string]> {
  constructor(private readonly raw: string[]) {}

  *[Symbol.iterator](): Iterator<[string, string]> {
    const raw = this.raw;
    for (let i = 0; i + 1 < raw.length; i += 2) yield [raw[i]!, raw[i + 1]!];
  }
}

/** {@link hasBody} for a node request. */
function incomingHasBody(incoming: IncomingMessage): boolean {
  const len = incoming.headers['content-length'];
  if (incoming.method === 'GET' || incoming.method === 'HEAD') return len !== undefined || incoming.headers['transfer-encoding'] !== undefined;
  return len === undefined ? true : len !== '0';
}

/** True when the request may carry a body (a length, or chunked transfer). */
function hasBody(req: Request): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return req.headers.has('content-length') || req.headers.has('transfer-encoding');
  const len = req.headers.get('content-length');
  return len === null ? true : len !== '0';
}
