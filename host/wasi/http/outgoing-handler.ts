/**
 * wasi:http/outgoing-handler. Outbound HTTP is denied unless the function's
 * policy names the destination host. The check runs on the URL the host will
 * actually connect to (scheme, host and port from the request's authority),
 * never on a Host header, which guests cannot set anyway.
 */
import type { GuestContext } from '../context.js';
import { InputStream } from '../io/streams.js';
import { pumpInto } from './body.js';
import { type OutboundResponse, send as sendRequest } from './client.js';
import { type ErrorCode, fromClientError, requestDenied, requestUriInvalid } from './error-code.js';
import { FORBIDDEN_HEADERS, Fields } from './fields.js';
import {
  FutureIncomingResponse,
  IncomingBody,
  IncomingResponse,
  type OutgoingRequest,
  type RequestOptions,
  methodToString,
} from './types.js';

type Res<T, E> = { tag: 'ok'; val: T } | { tag: 'err'; val: E };

/**
 * True when `url` may be fetched under `allowed`: each entry is `host`,
 * `host:port`, `*.domain` (any subdomain of domain) or `*` (anything).
 * Without a port, an entry matches the scheme's default port only.
 */
export function isAllowed(url: URL, allowed: readonly string[]): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of allowed) {
    const entry = raw.toLowerCase();
    if (entry === '*') return true;
    const m = /^(\*\.)?(\[[^\]]+\]|[^:]+)(?::(\d+|\*))?$/.exec(entry);
    if (!m) continue;
    const [, wildcard, h, p] = m;
    const entryHost = h!.replace(/^\[|\]$/g, '');
    const defaultPort = url.protocol === 'https:' ? '443' : '80';
    const portOk = p === '*' || (p ?? defaultPort) === port;
    const hostOk = wildcard ? host.endsWith(`.${entryHost}`) : host === entryHost;
    if (hostOk && portOk) return true;
  }
  return false;
}

function buildUrl(req: OutgoingRequest): URL | undefined {
  if (!req.authority) return undefined;
  const scheme = req.scheme === undefined ? 'https' : req.scheme.tag === 'other' ? req.scheme.val : req.scheme.tag.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return undefined;
  try {
    const url = new URL(`${scheme}://${req.authority}${req.pathWithQuery ?? '/'}`);
    return url.host ? url : undefined;
  } catch {
    return undefined;
  }
}

const EMPTY = new Uint8Array(0);

function nsToMs(ns: bigint | undefined): number | undefined {
  return ns === undefined ? undefined : Math.max(1, Number(ns / 1_000_000n));
}

async function send(cx: GuestContext, req: OutgoingRequest, url: URL, options: RequestOptions | undefined): Promise<Res<IncomingResponse, ErrorCode>> {
  const method = methodToString(req.method);
  let body: Uint8Array = EMPTY;
  const buf = req.body?.buffer;
  if (buf) {
    if (!buf.finished && !buf.failure) {
      // The guest may finish the body after calling `handle`: wait for it (or for the invocation to end).
      await Promise.race([buf.whenDone(), new Promise((resolve) => cx.signal.addEventListener('abort', resolve, { once: true }))]);
    }
    if (buf.failure) return { tag: 'err', val: { tag: 'HTTP-request-error' } };
    body = buf.takeBuffered();
  }
  let res: OutboundResponse;
  try {
    res = await sendRequest({
      method,
      url,
      headers: req.headers.toHeaderPairs(),
      body,
      signal: cx.signal,
      connectTimeoutMs: nsToMs(options?.connectTimeout),
      firstByteTimeoutMs: nsToMs(options?.firstByteTimeout),
      betweenBytesTimeoutMs: nsToMs(options?.betweenBytesTimeout),
    });
  } catch (e) {
    return { tag: 'err', val: fromClientError(e) };
  }
  const stream = new InputStream();
  pumpInto(res.body, stream, cx.policy.maxOutboundResponseBytes);
  const fields = Fields.fromHeaders(res.headers, FORBIDDEN_HEADERS);
  return { tag: 'ok', val: new IncomingResponse(res.status, fields, new IncomingBody(stream)) };
}

/** Implementations of wasi:http/outgoing-handler keyed by WIT function name. */
export const outgoingHandler = {
  handle: (cx: GuestContext, req: OutgoingRequest, options: RequestOptions | undefined): Res<FutureIncomingResponse, ErrorCode> => {
    const url = buildUrl(req);
    if (!url) return { tag: 'err', val: requestUriInvalid() };
    if (!isAllowed(url, cx.policy.allowedHosts)) return { tag: 'err', val: requestDenied() };
    return { tag: 'ok', val: new FutureIncomingResponse(send(cx, req, url, options)) };
  },
};
