/**
 * The host's outbound HTTP/1.1 client for guests (wasi:http/outgoing-handler
 * and micron:http/outbound), on node:http and node:https, so that what a
 * guest sends and receives is what goes over the wire. Node's `fetch` would
 * not do: it decodes content-encoded bodies (the guest then gets plain bytes
 * under the upstream's `content-encoding` and `content-length`, and a relay
 * of them hangs its client) and adds headers the guest never set
 * (`user-agent`, `accept`, `accept-encoding`, `accept-language`,
 * `sec-fetch-mode`).
 *
 * The host adds only `host` (from the URL) and the framing
 * (`content-length`, or `transfer-encoding: chunked`, and `connection`).
 * Redirects are not followed. Connections are kept alive and reused.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

/** A request as the guest built it. */
export interface OutboundRequest {
  method: string;
  /** Where to connect (already checked against the function's allow-list). */
  url: URL;
  /** Header pairs as the guest set them (forbidden ones already left out), values as latin1 strings of their bytes. */
  headers: Iterable<readonly [string, string]>;
  /**
   * The whole request body (empty for none). It is framed by its length when
   * it is not empty, when the method normally has a body (not GET or HEAD),
   * or when the guest declared a length; otherwise no length is sent.
   */
  body: Uint8Array;
  /** Aborts the request (the invocation ended, or its deadline passed). */
  signal: AbortSignal;
  /** Longest wait for the connection, ms. */
  connectTimeoutMs?: number | undefined;
  /** Longest wait from the start of the request to the response head, ms. */
  firstByteTimeoutMs?: number | undefined;
  /** Longest silence between two chunks of the response body, ms. */
  betweenBytesTimeoutMs?: number | undefined;
}

/** The upstream's answer: its head, and its body as it arrives. */
export interface OutboundResponse {
  status: number;
  statusText: string;
  /** Header pairs in the order received, names lower-cased, values as latin1 strings of the bytes sent. */
  headers: [string, string][];
  /** The body bytes exactly as sent (not decoded). */
  body: ReadableStream<Uint8Array>;
}

/** Codes of the client's own failures (node's errno codes, such as ECONNREFUSED, pass through). */
export type ClientErrorCode = 'CONNECT_TIMEOUT' | 'FIRST_BYTE_TIMEOUT' | 'BETWEEN_BYTES_TIMEOUT' | 'CONTENT_LENGTH_MISMATCH' | 'RESPONSE_INCOMPLETE';

/** A failure with an errno-style `code`, as node's own network errors have. */
export class ClientError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

/**
 * Sends `req` and resolves with the response head once it arrives; the body
 * streams after that. Rejects with node's network error (its `code`, e.g.
 * ECONNREFUSED), a {@link ClientError}, or `signal`'s reason.
 */
export function send(req: OutboundRequest): Promise<OutboundResponse> {
  const { url, body, signal } = req;
  return new Promise<OutboundResponse>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const headers: [string, string][] = [];
    let declared: string | undefined;
    for (const [name, value] of req.headers) {
      if (name.toLowerCase() === 'content-length') declared = value;
      else headers.push([name, value]);
    }
    const length = body.length;
    if (declared !== undefined && declared.trim() !== String(length)) {
      return reject(new ClientError('CONTENT_LENGTH_MISMATCH', `the request declares content-length ${declared} but its body is ${length} bytes`));
    }
    const module = url.protocol === 'https:' ? https : http;
    const out = module.request({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      method: req.method,
      agent: agents[url.protocol as 'http:' | 'https:'],
    });
    try {
      for (const [name, value] of headers) out.appendHeader(name, value);
      if (length > 0 || declared !== undefined || !(req.method === 'GET' || req.method === 'HEAD')) out.setHeader('content-length', String(length));
    } catch (e) {
      // A header node refuses (a character it cannot send): nothing has gone out yet.
      out.once('error', () => undefined);
      out.destroy();
      return reject(e);
    }

    const timers: NodeJS.Timeout[] = [];
    const fail = (e: Error): void => void out.destroy(e);
    const after = (ms: number | undefined, code: ClientErrorCode, what: string): NodeJS.Timeout | undefined => {
      if (ms === undefined) return undefined;
      const t = setTimeout(() => fail(new ClientError(code, `no ${what} from ${url.host} within ${ms} ms`)), ms);
      timers.push(t);
      return t;
    };
    const clearTimers = (): void => {
      for (const t of timers.splice(0)) clearTimeout(t);
    };
    const onAbort = (): void => fail(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    signal.addEventListener('abort', onAbort, { once: true });

    after(req.firstByteTimeoutMs, 'FIRST_BYTE_TIMEOUT', 'response');
    out.once('socket', (socket) => {
      if (!socket.connecting) return;
      const t = after(req.connectTimeoutMs, 'CONNECT_TIMEOUT', 'connection');
      if (t) socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(t));
    });
    out.once('error', (e) => {
      clearTimers();
      signal.removeEventListener('abort', onAbort);
      reject(e);
    });
    out.once('response', (res) => {
      clearTimers();
      const between = req.betweenBytesTimeoutMs;
      if (between !== undefined) res.setTimeout(between, () => res.destroy(new ClientError('BETWEEN_BYTES_TIMEOUT', `the response body from ${url.host} stalled for ${between} ms`)));
      res.once('close', () => signal.removeEventListener('abort', onAbort));
      resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: pairs(res.rawHeaders), body: bodyOf(res) });
    });
    out.end(length > 0 ? body : undefined);
  });
}

function pairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
}

/** The response body as a web stream, paused while the reader is behind. */
function bodyOf(res: IncomingMessage): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 1) <= 0) res.pause();
        });
        res.once('end', () => {
          if (settled) return;
          settled = true;
          controller.close();
        });
        // Cut off before its end (the upstream closed, a timeout, the invocation ended).
        res.once('close', () => {
          if (settled) return;
          settled = true;
          controller.error(res.errored ?? new ClientError('RESPONSE_INCOMPLETE', 'the upstream closed the connection before the response body ended'));
        });
        res.once('error', () => undefined);
      },
      pull() {
        res.resume();
      },
      cancel() {
        settled = true;
        res.destroy();
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
}
