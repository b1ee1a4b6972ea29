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
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Host } from '../host/index.js';
import { buildGuest, GUESTS } from './guests.js';
import { admin, fixture, tempHost } from './helpers.js';

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
  await host.deploy('hello', fixture('hello'));
  await host.deploy('echo', fixture('echo'));
  await host.deploy('as-proxy', fixture('as-proxy'), { allowedHosts: [`127.0.0.1:${upstreamPort}`] });
  for (const [name, declared, streamed] of [
    ['len-right', '3', false],
    ['len-long', '10', false],
    ['len-short', '1', false],
    ['len-stream', '10', true],
    ['len-bad', '3x', false],
  ] as const) {
    await host.deploy(name, await declaredLengthGuest(declared, streamed));
  }
  await host.deploy('spin-after-head', await buildGuest(GUESTS.spinAfterHead.body, GUESTS.spinAfterHead), { limits: { deadlineMs: 300 } });
  port = (await host.listen({ port: 0, host: '127.0.0.1', adminPort: 0 })).public.port;
}, 60_000);

afterAll(async () => {
  await cleanup();
  upstream.close();
});

/**
 * A guest that declares `content-length: <declared>` and writes "ok\n"
 * (3 bytes), or when `streamed` "ok\n", a 10 ms wait (its head goes out),
 * and "ok\n" again (6 bytes).
 */
function declaredLengthGuest(declared: string, streamed: boolean): Promise<Uint8Array> {
  return buildGuest(
    `
    (local.set $fields (call $fields_new))
    (call $fields_append (local.get $fields) (i32.const 200) (i32.const 14) (i32.const 216) (i32.const ${declared.length}) (i32.const 0))
    (local.set $s (call $head_fields (local.get $out) (local.get $fields) (i32.const 200)))
    (drop (call $write (local.get $s) (i32.const 96) (i32.const 3)))
    ${streamed ? '(call $sleep_ms (i32.const 10)) (drop (call $write (local.get $s) (i32.const 96) (i32.const 3)))' : ''}
    (call $drop_output_stream (local.get $s))
    (call $finish)`,
    { locals: '(local $fields i32) (local $s i32)', fields: `(data (i32.const 200) "content-length") (data (i32.const 216) "${declared}")` },
  );
}

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

describe('the request target', () => {
  it('routes by the path as sent: encoded dot segments do not switch functions, and the guest sees them unresolved', async () => {
    const res = (await rawRequest('GET /inspect/%2e%2e/hello/x?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toString('latin1');
    expect(res).toMatch(/^HTTP\/1\.1 200 /);
    expect(res).toContain('path: /%2e%2e/hello/x?q=1\n');
  });
});

describe('request headers reach the guest as sent', () => {
  it('keeps the bytes of a value outside ASCII (UTF-8 and obs-text), not re-encoded', async () => {
    const res = await rawRequest('GET /inspect/ HTTP/1.1\r\nHost: x\r\nX-U: caf\xc3\xa9 \x80\x9f\xff\r\nConnection: close\r\n\r\n');
    const line = Buffer.from('header: x-u: caf\xc3\xa9 \x80\x9f\xff\n', 'latin1');
    expect(res.subarray(0, 15).toString('latin1')).toBe('HTTP/1.1 200 OK');
    expect(res.includes(line)).toBe(true);
  });

  it('routes an HTTP/1.0 request without a Host header by its path, with the address it came in on as authority', async () => {
    const res = (await rawRequest('GET /inspect/x HTTP/1.0\r\n\r\n')).toString('latin1');
    expect(res.startsWith('HTTP/1.1 200 OK')).toBe(true);
    expect(res).toContain('path: /x\n');
    expect(res).toContain(`authority: 127.0.0.1:${port}\n`);
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

describe('a guest\'s declared content-length', () => {
  const get = (name: string, method = 'GET'): Promise<Response> => fetch(`http://127.0.0.1:${port}/${name}/`, { method, signal: AbortSignal.timeout(5000) });
  const lastRecord = async (name: string): Promise<{ status: number; outcome: string; detail?: string } | undefined> =>
    ((await (await host.adminFetch(admin(`/v1/functions/${name}/logs`))).json()) as { records: { status: number; outcome: string; detail?: string }[] }).records.at(-1);

  it('HEAD answers with the headers GET gets, the length of the body the guest wrote included', async () => {
    const get1 = await fetch(`http://127.0.0.1:${port}/hello/`);
    expect([get1.headers.get('content-length'), await get1.text()]).toEqual(['19', 'Hello from Micron!\n']);
    const head1 = await fetch(`http://127.0.0.1:${port}/hello/`, { method: 'HEAD' });
    expect([head1.status, head1.headers.get('content-length'), head1.headers.get('content-type')]).toEqual([200, '19', 'text/plain']);
    const head2 = await fetch(`http://127.0.0.1:${port}/echo/`, { method: 'HEAD' });
    expect([head2.status, head2.headers.get('content-length'), head2.headers.get('x-echo-method')]).toEqual([200, '0', 'HEAD']);
  });

  it('goes out when the body matches it, and with a HEAD answer that sends no body', async () => {
    const res = await get('len-right');
    expect([res.status, res.headers.get('content-length'), await res.text()]).toEqual([200, '3', 'ok\n']);
    const head = await get('len-long', 'HEAD');
    expect([head.status, head.headers.get('content-length')]).toEqual([200, '10']);
  });

  it('answers 500 instead of a response the client would wait on or misread, when the body is shorter, longer or the value malformed', async () => {
    for (const name of ['len-long', 'len-short', 'len-bad']) {
      const res = await get(name);
      expect(res.status, name).toBe(500);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('guest_error');
      expect(await lastRecord(name)).toMatchObject({ outcome: 'trap', detail: expect.stringContaining('content-length') });
    }
  });

  it('cuts a streamed response short of it off at once, and records why', async () => {
    const res = await get('len-stream');
    expect(res.status).toBe(200);
    const started = Date.now();
    const error = await res.text().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).not.toBe('TimeoutError');
    expect(error).toBeDefined();
    expect(Date.now() - started).toBeLessThan(2000);
    let record = await lastRecord('len-stream');
    for (let i = 0; i < 100 && record?.outcome !== 'trap'; i++) {
      await new Promise((r) => setTimeout(r, 10));
      record = await lastRecord('len-stream');
    }
    expect(record).toMatchObject({ outcome: 'trap', detail: expect.stringContaining('content-length is 10') });
  });
});

describe('a streamed response whose guest fails after its head', () => {
  it('is cut off as it was, with no error text written into the body or printed outside the log', async () => {
    // @hono/node-server prints a failed response stream with console.error and writes its message into the body.
    const printed = vi.spyOn(console, 'error');
    const raw = (await rawRequest('GET /spin-after-head/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toString('latin1');
    await new Promise((r) => setTimeout(r, 50));
    expect(printed).not.toHaveBeenCalled();
    printed.mockRestore();
    expect(raw.startsWith('HTTP/1.1 200 OK')).toBe(true);
    const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
    // Chunked: the guest's one chunk "ok\n", then nothing: no error text, no final 0-length chunk.
    expect(body).toBe('3\r\nok\n\r\n');
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
