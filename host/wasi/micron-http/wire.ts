/**
 * The bytes micron:http/outbound carries: a guest's request as HTTP/1.1 with
 * an absolute URL in the request line (what a proxy receives), and the
 * response handed back as HTTP/1.1 with a Content-Length (what Go's
 * `http.ReadResponse` reads). Only this simple, whole-message subset exists:
 * no chunked framing, no trailers, no continuation lines.
 */
import { STATUS_CODES } from 'node:http';
import { invalidRequest } from './error.js';
import { latin1String } from '../http/fields.js';

/** A parsed outbound request. */
export interface WireRequest {
  method: string;
  url: URL;
  /** Header fields in order, names lower-cased. */
  headers: [string, string][];
  body: Uint8Array;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;

/**
 * Parses a request: `METHOD absolute-URL HTTP/1.1`, header lines, an empty
 * line, then the body, whose length a Content-Length header gives (no
 * header: no body). Line ends are CRLF or LF.
 *
 * @throws OutboundFailure `invalid-request` naming what is wrong
 */
export function parseRequest(bytes: Uint8Array): WireRequest {
  const end = headEnd(bytes);
  if (!end) throw invalidRequest('no empty line after the request head');
  const lines = latin1String(bytes.subarray(0, end.head)).split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const requestLine = /^(\S+) (\S+) HTTP\/1\.[01]$/.exec(lines[0] ?? '');
  if (!requestLine) throw invalidRequest(`malformed request line ${JSON.stringify((lines[0] ?? '').slice(0, 200))}`);
  const [, method, target] = requestLine as unknown as [string, string, string];
  if (!TOKEN.test(method)) throw invalidRequest(`malformed method ${JSON.stringify(method)}`);
  let url: URL | undefined;
  try {
    url = new URL(target);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
    throw invalidRequest(`URL ${JSON.stringify(target.slice(0, 500))} is not an absolute http or https URL`);
  }
  if (url.username || url.password) throw invalidRequest('the URL carries credentials; send an Authorization header instead');

  const headers: [string, string][] = [];
  let contentLength = 0;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).toLowerCase() : '';
    const value = line.slice(colon + 1).trim();
    if (!TOKEN.test(name) || BAD_VALUE.test(value)) throw invalidRequest(`malformed header line ${JSON.stringify(line.slice(0, 200))}`);
    if (name === 'content-length') {
      if (!/^\d+$/.test(value)) throw invalidRequest(`malformed Content-Length ${JSON.stringify(value)}`);
      contentLength = Number(value);
      continue;
    }
    headers.push([name, value]);
  }
  const body = bytes.subarray(end.body);
  if (body.length !== contentLength) throw invalidRequest(`Content-Length is ${contentLength} but the body has ${body.length} bytes`);
  return { method, url, headers, body };
}

/** Where the head ends (before the empty line) and the body starts, or undefined. */
function headEnd(bytes: Uint8Array): { head: number; body: number } | undefined {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x0a) continue;
    if (bytes[i + 1] === 0x0a) return { head: i, body: i + 2 };
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return { head: i, body: i + 3 };
  }
  return undefined;
}

/**
 * Writes a response as HTTP/1.1: the status line, the header fields, a
 * Content-Length (`contentLength`, default the body's length), an empty
 * line, the body. Header names and values must be latin-1 (as fetch's
 * headers are).
 */
export function encodeResponse(
  status: number,
  statusText: string,
  headers: Iterable<readonly [string, string]>,
  body: Uint8Array,
  contentLength = body.length,
): Uint8Array {
  let head = `HTTP/1.1 ${status} ${statusText || STATUS_CODES[status] || ''}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  head += `content-length: ${contentLength}\r\n\r\n`;
  const out = new Uint8Array(head.length + body.length);
  out.set(Buffer.from(head, 'latin1'));
  out.set(body, head.length);
  return out;
}
