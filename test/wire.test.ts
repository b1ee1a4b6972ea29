/**
 * Bytes on the wire, over real HTTP on loopback: what a client sends reaches
 * the guest as sent (header bytes outside ASCII, hop-by-hop headers named by
 * `connection` left out), and what a guest fetches is what the upstream sent
 * (a gzip body stays gzip, with its headers), with no header the guest did
 * not set besides `host` and the framing.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../host/index.js';
import { fixture, tempHost } from './helpers.js';

let host: Host;
let cleanup: () => Promise<void>;
let port: number;
let upstream: Server;
let upstreamPort: number;
/** What the upstream saw of the last request: its raw header pairs. */
let seen: { rawHeaders: string[]; headers: IncomingHttpHeaders } | undefined;
const PLAIN = 'compressed on the way, '.repeat(50);
const GZIPPED = gzipSync(PLAIN);

beforeAll(async () => {
  upstream = createServer((req, res) => {
    seen = { rawHeaders: req.rawHeaders, headers: req.headers };
    res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': GZIPPED.length });
    res.end(GZIPPED);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as AddressInfo).port;
  ({ host, cleanup } = await tempHost());
  await host.deploy('inspect', fixture('inspect'));
  await host.deploy('as-proxy', fixture('as-proxy'), { allowedHosts: [`127.0.0.1:${upstreamPort}`] });
  port = (await host.listen({ port: 0, host: '127.0.0.1', adminPort: 0 })).public.port;
}, 60_000);

afterAll(async () => {
  await cleanup();
  upstream.close();
});

/** Sends `head` (latin1: one byte per char) with `Connection: close` and resolves with the whole raw response. */
function rawRequest(head: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(Buffer.from(head, 'latin1')));
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

describe('request headers reach the guest as sent', () => {
  it('keeps the bytes of a value outside ASCII (UTF-8 and obs-text), not re-encoded', async () => {
    const res = await rawRequest('GET /inspect/ HTTP/1.1\r\nHost: x\r\nX-U: caf\xc3\xa9 \x80\x9f\xff\r\nConnection: close\r\n\r\n');
    const line = Buffer.from('header: x-u: caf\xc3\xa9 \x80\x9f\xff\n', 'latin1');
    expect(res.subarray(0, 15).toString('latin1')).toBe('HTTP/1.1 200 OK');
    expect(res.includes(line)).toBe(true);
  });

  it('leaves out the headers that `connection` names, with the fixed hop-by-hop ones', async () => {
    const res = (await rawRequest('GET /inspect/ HTTP/1.1\r\nHost: x\r\nX-Hop: 1\r\nX-Kept: 2\r\nKeep-Alive: timeout=5\r\nConnection: close, X-Hop\r\n\r\n')).toString('latin1');
    expect(res).toContain('header: x-kept: 2\n');
    expect(res).not.toContain('header: x-hop');
    expect(res).not.toContain('header: keep-alive');
    expect(res).not.toContain('header: connection');
  });
});

describe('outbound requests go out and come back as sent', () => {
  it('hands the guest the upstream body undecoded, and sends only the guest headers, host and framing', async () => {
    const target = `http://127.0.0.1:${upstreamPort}/up`;
    const res = await fetch(`http://127.0.0.1:${port}/as-proxy/?url=${encodeURIComponent(target)}`, { headers: { 'accept-encoding': 'identity' } });
    expect(res.status).toBe(200);
    // as-proxy relays content-type and the body: the body is the gzip bytes the upstream sent.
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(Buffer.from(await res.arrayBuffer()).equals(GZIPPED)).toBe(true);
    // The SDK's fetch sets no headers; the host added only host and the connection's own.
    const names = seen!.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names.sort()).toEqual(['connection', 'host']);
    expect(seen!.headers.host).toBe(`127.0.0.1:${upstreamPort}`);
  });
});

describe('answers of the public listener', () => {
  it('carry x-micron-request-id on a 404 for an unknown function too', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/nope/`);
    expect(res.status).toBe(404);
    expect(res.headers.get('x-micron-request-id')).toMatch(/^[0-9a-f]{14}$/);
    expect(await res.json()).toMatchObject({ error: { code: 'function_not_found', requestId: res.headers.get('x-micron-request-id') } });
  });
});
