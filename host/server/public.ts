/**
 * The public listener: function traffic. A request reaches function `name`
 * either by path (`/<name>/<rest>`) or by host (`<name>.<domain>/<rest>`).
 *
 * What the guest sees (documented in README.md, tested in test/routing.test.ts):
 * - method: the request method;
 * - path-with-query: `/<rest>` plus the query string; with path routing the
 *   `/<name>` prefix is removed (`/hello` and `/hello/` both become `/`);
 * - scheme: `http`; authority: the Host header;
 * - headers: every request header except hop-by-hop ones (`connection`,
 *   `keep-alive`, `transfer-encoding`, `upgrade`, `te`, `trailer`,
 *   `proxy-connection`, `http2-settings`);
 * - body: streamed, up to the request body limit.
 */
import type { IncomingMessage } from 'node:http';
import { Hono } from 'hono';
import type { Logger } from '../observe/logger.js';
import type { Registry } from '../registry/registry.js';
import type { Runtime } from '../runtime/runtime.js';
import { errorResponse, onError } from './errors.js';

/** Dependencies of the public app. */
export interface PublicAppDeps {
  registry: Registry;
  runtime: Runtime;
  logger: Logger;
  /** Host-routing domain: `<name>.<domain>`. */
  domain: string;
}

/**
 * Splits a request into the function it targets and the path the guest sees.
 * `target` is the request target (`/path?query`); `mount` is the prefix the
 * app is mounted under in a parent Hono app (empty when it serves the whole
 * origin), which is not part of what the guest sees.
 */
export function route(target: string, host: string | undefined, domain: string, mount = ''): { name: string; pathWithQuery: string } | undefined {
  const q = target.indexOf('?');
  const fullPath = q === -1 ? target : target.slice(0, q);
  const search = q === -1 ? '' : target.slice(q);
  const path = mount && fullPath.startsWith(mount) ? fullPath.slice(mount.length) || '/' : fullPath;
  if (host) {
    const h = host.toLowerCase().replace(/:\d+$/, '');
    const suffix = `.${domain}`;
    if (h.endsWith(suffix)) {
      const name = h.slice(0, -suffix.length);
      if (name && !name.includes('.')) return { name, pathWithQuery: path + search };
    }
  }
  const slash = path.indexOf('/', 1);
  let name: string;
  try {
    name = decodeURIComponent(slash === -1 ? path.slice(1) : path.slice(1, slash));
  } catch {
    return undefined;
  }
  if (!name) return undefined;
  const rest = slash === -1 ? '/' : path.slice(slash);
  return { name, pathWithQuery: rest + search };
}

/** The `/path?query` and the authority of an absolute request URL, without a full URL parse. */
function splitUrl(url: string): { authority: string; target: string } {
  const start = url.indexOf('://') + 3;
  const slash = url.indexOf('/', start);
  return slash === -1 ? { authority: url.slice(start), target: '/' } : { authority: url.slice(start, slash), target: url.slice(slash) };
}

/** Creates the Hono app that serves function traffic. */
export function createPublicApp(deps: PublicAppDeps): Hono {
  const app = new Hono();
  app.onError(onError(deps.logger));
  app.all('*', async (c) => {
    const req = c.req.raw;
    const url = splitUrl(req.url);
    // Under @hono/node-server, read node's already-parsed headers: touching `req.headers`
    // would make it build a full web Headers object for every request.
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const host = incoming ? incoming.headers.host : (req.headers.get('host') ?? undefined);
    // Under `parent.route('/fn', host.app)` the route path is `/fn/*`: strip that prefix.
    const mount = c.req.routePath.endsWith('*') ? c.req.routePath.slice(0, -1).replace(/\/$/, '') : '';
    const target = route(url.target, host, deps.domain, mount);
    if (!target) return errorResponse('function_not_found', 'no function in the request path; call /<name>/…', 404);
    const resolved = deps.registry.resolve(target.name);
    const authority = host ?? url.authority;
    if (!resolved) return errorResponse('function_not_found', `no function named ${JSON.stringify(target.name)}`, 404);
    const fn = resolved instanceof Promise ? await resolved : resolved;
    return deps.runtime.invoke(fn, {
      method: req.method,
      pathWithQuery: target.pathWithQuery,
      scheme: 'http',
      authority,
      headers: incoming ? rawHeaderPairs(incoming.rawHeaders) : (req.headers as unknown as Iterable<[string, string]>),
      // Reading `body` makes @hono/node-server build a full Request; skip it when there is none.
      body: (incoming ? incomingHasBody(incoming) : hasBody(req)) ? req.body : null,
    });
  });
  return app;
}

/** The name/value pairs of node's `rawHeaders`, iterated only if the guest reads its headers. */
function rawHeaderPairs(raw: string[]): Iterable<[string, string]> {
  return {
    *[Symbol.iterator]() {
      for (let i = 0; i + 1 < raw.length; i += 2) yield [raw[i]!, raw[i + 1]!] as [string, string];
    },
  };
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
