/**
 * Real components through the real host (in-process Hono app): each fixture's
 * contract, streaming in both directions, isolation, and how failures are
 * answered.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WitRegistry } from '../host/abi/wit.js';
import type { Host } from '../host/index.js';
import { fixture, tempHost } from './helpers.js';

let host: Host;
let cleanup: () => Promise<void>;
let logs: string[] = [];
let upstream: Server;
let upstreamPort: number;

beforeAll(async () => {
  ({ host, cleanup } = await tempHost({ log: (l) => logs.push(l) }));
  for (const name of ['hello', 'echo', 'inspect', 'stream', 'trap', 'no-response', 'js-hello']) await host.deploy(name, fixture(name));
  upstream = createServer((req, res) => {
    res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'text/plain', 'x-upstream': 'yes' });
    res.end(`upstream saw ${req.method} ${req.url}\n`);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as AddressInfo).port;
  await host.deploy('fetch-allowed', fixture('fetch'), { allowedHosts: [`127.0.0.1:${upstreamPort}`] });
  await host.deploy('fetch-denied', fixture('fetch'));
}, 120_000);

afterAll(async () => {
  await cleanup();
  upstream.close();
});

const call = (path: string, init?: RequestInit): Promise<Response> => host.fetch(new Request(`http://localhost:8080${path}`, init));

describe('hello', () => {
  it('answers 200 text/plain with its body and a request id', async () => {
    const res = await call('/hello/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(res.headers.get('x-micron-request-id')).toMatch(/^[0-9a-f]{14}$/);
    expect(await res.text()).toBe('Hello from Micron!\n');
  });

  it('gives every request its own request id', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) ids.add((await call('/hello/')).headers.get('x-micron-request-id')!);
    expect(ids.size).toBe(20);
  });

  it('serves many concurrent requests, each on a fresh instance', async () => {
    const all = await Promise.all(Array.from({ length: 200 }, () => call('/hello/x').then((r) => r.text())));
    expect(new Set(all)).toEqual(new Set(['Hello from Micron!\n']));
  });
});

describe('inspect', () => {
  it('shows the guest the path without the function prefix, the query, authority and headers', async () => {
    const res = await call('/inspect/a/b?q=1&r=two', { headers: { 'x-custom': 'v1', connection: 'keep-alive' } });
    const text = await res.text();
    expect(text).toContain('method: GET\n');
    expect(text).toContain('path: /a/b?q=1&r=two\n');
    expect(text).toContain('scheme: http\n');
    expect(text).toContain('authority: localhost:8080\n');
    expect(text).toContain('header: x-custom: v1\n');
    expect(text).not.toContain('header: connection');
  });

  it('maps the bare function path to /', async () => {
    expect(await (await call('/inspect')).text()).toContain('path: /\n');
  });

  it('sees no environment unless the operator configures it, and then exactly that', async () => {
    expect(await (await call('/inspect/')).text()).not.toContain('env: ');
    await host.deploy('inspect-env', fixture('inspect'), { env: { GREETING: 'hi there', MODE: 'test' } });
    const text = await (await call('/inspect-env/')).text();
    expect(text.split('\n').filter((l) => l.startsWith('env: '))).toEqual(['env: GREETING=hi there', 'env: MODE=test']);
    expect(text).not.toContain(`env: PATH=`);
  });

  it('captures guest stdout and stderr into the host log line of the invocation, with the request id', async () => {
    logs = [];
    const res = await call('/inspect/');
    await res.text();
    const id = res.headers.get('x-micron-request-id');
    await new Promise((r) => setTimeout(r, 20));
    const lines = logs.map((l) => JSON.parse(l) as { msg: string; requestId?: string; function?: string; logs?: unknown[] });
    const line = lines.find((l) => l.requestId === id);
    expect(line).toMatchObject({ msg: 'invocation', level: 'info', function: 'inspect', status: 200 });
    expect(line?.logs).toEqual([
      { stream: 'stdout', line: 'inspect stdout' },
      { stream: 'stderr', line: 'inspect stderr' },
    ]);
  });
});

describe('echo', () => {
  it('streams the request body back with its content type and method', async () => {
    const res = await call('/echo/', { method: 'PUT', body: 'some text', headers: { 'content-type': 'text/x-test' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/x-test');
    expect(res.headers.get('x-echo-method')).toBe('PUT');
    expect(await res.text()).toBe('some text');
  });

  it('echoes a 3 MB streamed body byte for byte', async () => {
    const data = new Uint8Array(3 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= data.length) return c.close();
        const n = Math.min(100_000, data.length - sent);
        c.enqueue(data.slice(sent, sent + n));
        sent += n;
      },
    });
    const res = await call('/echo/', { method: 'POST', body, duplex: 'half' } as RequestInit);
    const out = new Uint8Array(await res.arrayBuffer());
    expect(out.length).toBe(data.length);
    expect(Buffer.compare(Buffer.from(out), Buffer.from(data))).toBe(0);
  });

  it('answers an empty body with an empty body', async () => {
    const res = await call('/echo/', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });
});

describe('stream', () => {
  it('sends each chunk as the guest writes it, while the guest is still sleeping', async () => {
    const res = await call('/stream/');
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const chunks: string[] = [];
    const dec = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(dec.decode(value));
    }
    expect(chunks.join('')).toBe('chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n');
    // Separate reads prove the body was not buffered until the end.
    expect(chunks.length).toBeGreaterThanOrEqual(5);
  });

  it('keeps serving other functions while a stream is sleeping', async () => {
    const slow = call('/stream/').then((r) => r.text());
    const fast = await call('/hello/');
    expect(await fast.text()).toBe('Hello from Micron!\n');
    expect(await slow).toContain('chunk 4');
  });
});

describe('failures', () => {
  it('answers a trap with a generic 500 and the request id, details only in the log', async () => {
    logs = [];
    const res = await call('/trap/');
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe('guest_error');
    expect(body.error.requestId).toBe(res.headers.get('x-micron-request-id'));
    expect(body.error.message).not.toContain('unreachable');
    await new Promise((r) => setTimeout(r, 20));
    const entry = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.requestId === body.error.requestId && l.msg === 'invocation failed');
    expect(entry).toMatchObject({ function: 'trap', outcome: 'trap' });
    expect(String(entry!.detail)).toContain('unreachable');
  });

  it('answers a guest that never sets a response with a 500', async () => {
    const res = await call('/no-response/');
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('guest_error');
  });

  it('keeps serving the same function after a trap', async () => {
    expect((await call('/trap/')).status).toBe(500);
    expect((await call('/hello/')).status).toBe(200);
    expect((await call('/trap/')).status).toBe(500);
  });

  it('answers 404 for an unknown function', async () => {
    const res = await call('/nope/');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('function_not_found');
  });
});

describe('outbound HTTP', () => {
  it('reaches a host on the allow-list and streams its answer through', async () => {
    const res = await call('/fetch-allowed/', { headers: { 'x-fetch-authority': `127.0.0.1:${upstreamPort}`, 'x-fetch-path': '/a?b=1' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-fetched')).toBe('1');
    expect(await res.text()).toBe('upstream saw GET /a?b=1\n');
  });

  it('passes the upstream status through', async () => {
    const res = await call('/fetch-allowed/', { headers: { 'x-fetch-authority': `127.0.0.1:${upstreamPort}`, 'x-fetch-path': '/missing' } });
    expect(res.status).toBe(404);
  });

  it('denies a host that is not on the allow-list with HTTP-request-denied', async () => {
    const wit = WitRegistry.fromDirectory('wit');
    const errorCode = wit.get('wasi:http/types')!.funcs.get('http-error-code')!.result!;
    const cases = errorCode.k === 'option' && errorCode.type.k === 'variant' ? errorCode.type.cases.map((c) => c.name) : [];
    const denied = cases.indexOf('HTTP-request-denied');
    expect(denied).toBeGreaterThan(0);
    const res = await call('/fetch-denied/', { headers: { 'x-fetch-authority': `127.0.0.1:${upstreamPort}` } });
    expect(res.status).toBe(502);
    expect(await res.text()).toBe(`error ${denied}\n`);
  });

  it('checks the port too: the same host on another port is denied', async () => {
    const res = await call('/fetch-allowed/', { headers: { 'x-fetch-authority': `127.0.0.1:${upstreamPort + 1}` } });
    expect(res.status).toBe(502);
  });
});

describe('a third-party toolchain', () => {
  it('runs a componentize-js (StarlingMonkey) component', async () => {
    const res = await call('/js-hello/');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('Hello from JavaScript!\n');
  });
});
