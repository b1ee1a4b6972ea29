/**
 * A plain node:http client for tests that need one connection per request
 * (no pooling: a connection the server closes on purpose cannot leak into the
 * next test) and chunked request bodies.
 */
import http from 'node:http';

/** What a request got back; `error` is set when the connection failed before or during the response. */
export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Set when the exchange broke (connection closed or reset) instead of completing. */
  error?: string;
}

/** Options of {@link request}. */
export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** A whole body (sent with content-length), or chunks sent with chunked encoding. */
  body?: Uint8Array | string | Iterable<Uint8Array>;
}

/** One request on its own connection to `base` (`http://127.0.0.1:port`). Never rejects. */
export function request(base: string, path: string, opts: RequestOptions = {}): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const url = new URL(path, base);
    const chunkedBody = opts.body !== undefined && typeof opts.body !== 'string' && !(opts.body instanceof Uint8Array);
    const req = http.request(url, { method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'), headers: opts.headers, agent: false });
    let answer: HttpAnswer | undefined;
    const chunks: Buffer[] = [];
    const finish = (error?: string): void => {
      if (!answer) {
        resolve({ status: 0, headers: {}, body: Buffer.alloc(0), error: error ?? 'no response' });
        answer = { status: 0, headers: {}, body: Buffer.alloc(0) };
        return;
      }
      if (error) answer.error = error;
      answer.body = Buffer.concat(chunks);
      resolve(answer);
    };
    let settled = false;
    const once = (error?: string): void => {
      if (settled) return;
      settled = true;
      finish(error);
    };
    req.on('response', (res) => {
      answer = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0) };
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => once());
      res.on('error', (e) => once(e.message));
      res.on('aborted', () => once('aborted'));
    });
    req.on('error', (e) => once(e.message));
    if (chunkedBody) {
      const it = (opts.body as Iterable<Uint8Array>)[Symbol.iterator]();
      const pump = (): void => {
        for (;;) {
          const next = it.next();
          if (next.done) return void req.end();
          if (req.destroyed) return;
          if (!req.write(next.value)) return void req.once('drain', pump);
        }
      };
      pump();
    } else {
      req.end(opts.body);
    }
  });
}

/** `total` bytes of 'a' in pieces of `piece` bytes, for chunked request bodies. */
export function* pieces(total: number, piece = 10_000): Iterable<Uint8Array> {
  for (let sent = 0; sent < total; sent += piece) yield new Uint8Array(Math.min(piece, total - sent)).fill(97);
}

/** The JSON error body of an answer. */
export function errorBody(a: HttpAnswer): { code: string; message: string; requestId?: string } {
  return (JSON.parse(a.body.toString('utf8')) as { error: { code: string; message: string; requestId?: string } }).error;
}
