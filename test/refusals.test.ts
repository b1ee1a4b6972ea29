/**
 * Every refusal a client can get is traceable: it carries a request id, and
 * the host log has a line under that id. Covers what the app refuses (an
 * unknown function, headers or a request target over the limit, a declared
 * body over the limit, a missing invocation token) and what node's own HTTP
 * parser refuses before any app runs (headers past node's limit, a
 * malformed request line), which used to be node's bare status line. Also:
 * a guest that traps when its memory is at the function's limit is recorded
 * as stopped by the memory limit.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHost, type Host } from '../host/index.ts';

const HELLO = new Uint8Array(readFileSync(new URL('../components/hello/hello.wasm', import.meta.url)));
const ECHO = new Uint8Array(readFileSync(new URL('../components/echo/echo.wasm', import.meta.url)));
const TOKEN = 'refusals-test-token-0123';
const MAX_HEADER_BYTES = 8 * 1024;

let dir: string;
let host: Host;
let base: string;
let port: number;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'micron-refusals-'));
  host = await createHost({ dataDir: dir, adminToken: TOKEN, log: (l) => logs.push(JSON.parse(l) as Record<string, unknown>), limits: { maxHeaderBytes: MAX_HEADER_BYTES } });
  await host.deploy('hello', HELLO, { limits: { requestBodyBytes: 10 } });
  await host.deploy('private', HELLO, { invokeAuth: { bearer: ['invoke-token-0123456789'] } });
  await host.deploy('echo', ECHO, { limits: { memoryPages: 1 } });
  const addrs = await host.listen({ port: 0, adminPort: 0, host: '127.0.0.1' });
  port = addrs.public.port;
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await host?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Sends `head` on a new connection and resolves with the raw response text. */
function raw(head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    let out = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (out += c));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

/** The log line under `requestId`. */
const lineOf = (requestId: string | null): Record<string, unknown> | undefined => logs.find((l) => l.requestId === requestId);

describe('a refused request', () => {
  it.each([
    ['an unknown function', () => fetch(`${base}/nope/`), 404, 'function_not_found', 'debug'],
    ['a declared body over the limit', () => fetch(`${base}/hello/`, { method: 'POST', body: 'x'.repeat(11) }), 413, 'payload_too_large', 'info'],
    ['a request target over the header limit', () => fetch(`${base}/hello/${'a'.repeat(MAX_HEADER_BYTES)}`), 431, 'header_too_large', 'info'],
    ['a missing invocation token', () => fetch(`${base}/private/`), 401, 'unauthorized', 'info'],
  ] as const)('%s: answered with a request id that a log line carries', async (_what, send, status, code, level) => {
    const res = await send();
    expect(res.status).toBe(status);
    const id = res.headers.get('x-micron-request-id');
    expect(id).toMatch(/^[0-9a-f]{8,}$/);
    expect(await res.json()).toMatchObject({ error: { code, requestId: id } });
    // Unknown functions are logged at debug level (scanners make many): not at the default level.
    if (level === 'debug') expect(lineOf(id)).toBeUndefined();
    else expect(lineOf(id)).toMatchObject({ level: 'info', msg: 'request refused', status, code });
  });

  it("past node's own header limit: JSON with a request id instead of node's bare 431", async () => {
    const res = await raw(`GET /hello/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(MAX_HEADER_BYTES + 20 * 1024)}\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1\.1 431 /);
    const id = /x-micron-request-id: (\S+)/i.exec(res)?.[1];
    expect(id).toBeDefined();
    expect(JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'header_too_large', requestId: id } });
    expect(lineOf(id!)).toMatchObject({ msg: 'request refused', status: 431 });
  });

  it('with a malformed request line: JSON 400 with a request id', async () => {
    const res = await raw('GET /hello/ HTTP/1.1 extra\r\nHost: x\r\n\r\n');
    expect(res).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'bad_request', requestId: expect.any(String) } });
  });
});

describe('a request with Expect: 100-continue', () => {
  /** Sends the head; resolves with what arrives first (the 100, or the final answer). */
  function firstAnswer(head: string): Promise<{ first: string; socket: import('node:net').Socket }> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(head));
      socket.setEncoding('latin1');
      socket.once('data', (c: string) => resolve({ first: c, socket }));
      socket.on('error', reject);
    });
  }

  it('is refused before its body is sent when the function does not exist or the body is over its limit', async () => {
    for (const [path, status] of [['/nope/', 404], ['/hello/', 413]] as const) {
      const { first, socket } = await firstAnswer(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
      socket.destroy();
      expect(first, path).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(first).not.toContain('100 Continue');
    }
  });

  it('gets 100 Continue when the function will read the body, and the body goes through', async () => {
    const { first, socket } = await firstAnswer('POST /echo/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
    expect(first).toMatch(/^HTTP\/1\.1 100 Continue/);
    let rest = '';
    socket.on('data', (c: string) => (rest += c));
    await new Promise<void>((ok) => {
      socket.on('end', () => ok());
      socket.write('hello');
    });
    const all = first + rest;
    expect(all).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    expect(all).toContain('hello');
  });
});

describe('a guest that traps at its memory limit', () => {
  it('is recorded as stopped by the memory limit and counted as such', async () => {
    // echo streams: its head may be out (200) before the trap cuts the body off.
    const res = await fetch(`${base}/echo/`, { method: 'POST', body: 'y'.repeat(200_000) });
    const body = await res.arrayBuffer().catch(() => undefined);
    expect(body?.byteLength ?? 0).toBeLessThan(200_000);
    const rec = host.records('echo').at(-1)!;
    expect(rec.outcome).toBe('trap');
    expect(rec.detail).toContain("at the function's limit of 1 pages");
    const metrics = await (await host.adminFetch(new Request('http://127.0.0.1/metrics', { headers: { authorization: `Bearer ${TOKEN}` } }))).text();
    expect(metrics).toMatch(/micron_rejections_total\{[^}]*function="echo"[^}]*reason="memory"[^}]*\} 1/);
  });
});
