/**
 * micron:http/outbound against a real upstream on loopback, with a real
 * WebAssembly memory standing in for the guest's: the imports are called as
 * a guest calls them (pointers and lengths into that memory).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GuestMemory } from '../preview1/guest-memory.ts';
import { MAX_TICKETS, Outbound, TicketState, type OutboundPolicy } from './outbound.ts';
import { encodeResponse, parseRequest } from './wire.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** What the upstream saw. */
const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
const sockets = new Set<Socket>();
/** Requests to /hang whose client went away. */
let hangsAbandoned = 0;
const upstream = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
    if (req.url === '/hang') {
      res.on('close', () => hangsAbandoned++);
      return;
    }
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
      return;
    }
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.alloc(5000, 1));
      return;
    }
    res.writeHead(201, 'Made It', { 'content-type': 'text/x-test', 'set-cookie': ['a=1', 'b=2'], 'x-up': 'yes' });
    res.end(`${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`);
  });
});
upstream.on('connection', (s: Socket) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});
let origin = '';
let closedPort = 0;

beforeAll(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  // A port nobody listens on: bind one, note it, close it.
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => upstream.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
});

/** A guest: one page of real wasm memory, requests written at 0, results read at 32 KiB. */
function guest(policy: Partial<OutboundPolicy> = {}, unavailable?: string) {
  const wasm = new WebAssembly.Memory({ initial: 2 });
  const memory = new GuestMemory();
  memory.bind(wasm);
  const outbound = new Outbound(memory);
  const full: OutboundPolicy = { allowedHosts: [new URL(origin).host], maxResponseBytes: 1 << 20, maxOutboundResponseBytes: 1 << 20, ...policy };
  outbound.begin({ policy: full, ...(unavailable ? { unavailable } : {}) });
  const call = outbound.imports;
  return {
    outbound,
    /** Writes the request into guest memory and calls `start`. */
    start(request: string | Uint8Array, timeoutMs = 0): number {
      const bytes = typeof request === 'string' ? enc.encode(request) : request;
      new Uint8Array(wasm.buffer).set(bytes, 0);
      return call['start']!(0, bytes.length, timeoutMs);
    },
    state: (ticket: number) => call['state']!(ticket),
    /** Takes the result through guest memory, as the SDK does. */
    take(ticket: number): string {
      const n = call['result-len']!(ticket);
      const copied = call['take-result']!(ticket, 32 * 1024, n);
      return dec.decode(new Uint8Array(wasm.buffer, 32 * 1024, copied));
    },
    call,
  };
}

const get = (url: string, headers = '') => `GET ${url} HTTP/1.1\r\nUser-Agent: test\r\n${headers}\r\n`;

describe('micron:http/outbound', () => {
  it('makes an allowed request without blocking and hands back the whole response as HTTP/1.1', async () => {
    const g = guest();
    const body = 'hello upstream';
    const ticket = g.start(`POST ${origin}/path?q=1 HTTP/1.1\r\nContent-Type: text/plain\r\nUser-Agent: test\r\nX-A: 1\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    expect(ticket).toBeGreaterThan(0);
    expect(g.state(ticket)).toBe(TicketState.pending);
    expect(g.outbound.pending).toBe(1);
    await g.outbound.whenSettled();
    expect(g.state(ticket)).toBe(TicketState.response);
    const text = g.take(ticket);
    const [head, received] = text.split('\r\n\r\n') as [string, string];
    const lines = head.split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 201 Made It');
    expect(lines).toContain('content-type: text/x-test');
    expect(lines).toContain('x-up: yes');
    expect(lines.filter((l) => l.startsWith('set-cookie: '))).toEqual(['set-cookie: a=1', 'set-cookie: b=2']);
    expect(lines).toContain(`content-length: ${received.length}`);
    expect(received).toBe(`POST /path?q=1 ${body}`);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/path?q=1', body });
    expect(seen[0]!.headers).toMatchObject({ 'content-type': 'text/plain', 'x-a': '1', 'user-agent': 'test' });
    // Taken: the ticket is forgotten.
    expect(g.state(ticket)).toBe(TicketState.unknown);
  });

  it('denies a host that is not on the allow-list at once, and nothing leaves the host', () => {
    const g = guest({ allowedHosts: ['api.example.com'] });
    const ticket = g.start(get(`${origin}/secret`));
    expect(g.state(ticket)).toBe(TicketState.failed);
    expect(g.outbound.pending).toBe(0);
    expect(g.take(ticket)).toBe(`denied\nmicron: outbound request denied: host "${new URL(origin).host}" is not in this function's allowedHosts`);
    expect(seen).toEqual([]);
  });

  it('checks the allow-list on the URL it connects to, not on a Host header', () => {
    const g = guest({ allowedHosts: ['api.example.com'] });
    const ticket = g.start(get(`${origin}/`, 'Host: api.example.com\r\n'));
    expect(g.take(ticket)).toMatch(/^denied\n/);
  });

  it.each([
    ['a relative URL', 'GET /relative HTTP/1.1\r\n\r\n', /is not an absolute http or https URL/],
    ['another scheme', 'GET ftp://127.0.0.1/x HTTP/1.1\r\n\r\n', /is not an absolute http or https URL/],
    ['credentials in the URL', 'GET http://u:p@127.0.0.1/ HTTP/1.1\r\n\r\n', /carries credentials/],
    ['no empty line after the head', 'GET http://127.0.0.1/ HTTP/1.1\r\nX: 1\r\n', /no empty line/],
    ['a malformed header line', 'GET http://127.0.0.1/ HTTP/1.1\r\nno colon here\r\n\r\n', /malformed header line/],
    ['a body longer than its Content-Length', 'POST http://127.0.0.1/ HTTP/1.1\r\nContent-Length: 1\r\n\r\nabc', /Content-Length is 1 but the body has 3 bytes/],
  ])('refuses a malformed request (%s) as invalid-request', (_name, request, message) => {
    const g = guest({ allowedHosts: ['*'] });
    const text = g.take(g.start(request));
    expect(text.split('\n')[0]).toBe('invalid-request');
    expect(text).toMatch(message);
  });

  it('refuses a request body over the function limit without sending it', () => {
    const g = guest({ maxResponseBytes: 4 });
    const text = g.take(g.start(`POST ${origin}/ HTTP/1.1\r\nContent-Length: 5\r\n\r\n12345`));
    expect(text).toBe("too-large\nmicron: outbound request body is larger than the function's limit of 4 bytes");
    expect(seen).toEqual([]);
  });

  it('fails a response body over the outbound limit instead of truncating it', async () => {
    const g = guest({ maxOutboundResponseBytes: 1000 });
    const ticket = g.start(get(`${origin}/big`));
    await g.outbound.whenSettled();
    expect(g.state(ticket)).toBe(TicketState.failed);
    expect(g.take(ticket)).toBe(`too-large\nmicron: outbound response from ${origin}/big is larger than the function's limit of 1000 bytes`);
  });

  it('reports a refused connection with the system message', async () => {
    const g = guest({ allowedHosts: ['*'] });
    const ticket = g.start(get(`http://127.0.0.1:${closedPort}/`));
    await g.outbound.whenSettled();
    expect(g.take(ticket)).toMatch(new RegExp(`^connection\\nmicron: outbound request to http://127.0.0.1:${closedPort}/ failed: .*ECONNREFUSED`));
  });

  it("stops waiting at the guest's own timeout", async () => {
    const g = guest();
    const ticket = g.start(get(`${origin}/hang`), 50);
    await g.outbound.whenSettled();
    expect(g.take(ticket)).toBe(`timeout\nmicron: outbound request to ${origin}/hang timed out after 50 ms`);
  });

  it('does not follow redirects: the guest gets the 3xx and its Location', async () => {
    const g = guest();
    const ticket = g.start(get(`${origin}/redirect`));
    await g.outbound.whenSettled();
    const text = g.take(ticket);
    expect(text).toMatch(/^HTTP\/1\.1 302 /);
    expect(text).toContain('location: /elsewhere\r\n');
    expect(seen.map((s) => s.url)).toEqual(['/redirect']);
  });

  it('fails every request at once with unavailable when the run cannot wait', () => {
    const g = guest({}, 'in a synchronous run (test)');
    const ticket = g.start(get(`${origin}/`));
    expect(g.state(ticket)).toBe(TicketState.failed);
    expect(g.take(ticket)).toBe('unavailable\nmicron: outbound HTTP is not available in a synchronous run (test)');
    expect(seen).toEqual([]);
  });

  it('aborts requests in flight and forgets every ticket when the run ends', async () => {
    const g = guest();
    const ticket = g.start(get(`${origin}/hang`));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen.map((s) => s.url)).toEqual(['/hang']);
    const abandoned = hangsAbandoned;
    g.outbound.end();
    expect(g.outbound.pending).toBe(0);
    expect(g.state(ticket)).toBe(TicketState.unknown);
    await expect.poll(() => hangsAbandoned).toBe(abandoned + 1);
    // A later run's requests are refused until it begins.
    expect(g.take(g.start(get(`${origin}/`)))).toMatch(/^unavailable\n/);
  });

  it('traps a guest that holds too many tickets, or points outside its memory', () => {
    const g = guest({ allowedHosts: [] });
    for (let i = 0; i < MAX_TICKETS; i++) g.start(get(`${origin}/`));
    expect(() => g.start(get(`${origin}/`))).toThrow(RangeError);
    expect(() => g.call['start']!(2 * 65536 - 4, 100, 0)).toThrow(RangeError);
    const h = guest({ allowedHosts: [] });
    const ticket = h.start(get(`${origin}/`));
    expect(() => h.call['take-result']!(ticket, 2 * 65536 - 4, 100)).toThrow(RangeError);
  });
});

describe('micron:http/outbound wire format', () => {
  it('parses what the Go SDK writes: absolute URL, header lines, Content-Length, body', () => {
    const req = parseRequest(enc.encode('PUT https://api.example.com:8443/a%20b?x=1 HTTP/1.1\r\nUser-Agent: Go-http-client/1.1\r\nX-Multi: 1\r\nX-Multi: 2\r\nContent-Length: 2\r\n\r\nhi'));
    expect(req.method).toBe('PUT');
    expect(req.url.href).toBe('https://api.example.com:8443/a%20b?x=1');
    expect(req.headers).toEqual([
      ['user-agent', 'Go-http-client/1.1'],
      ['x-multi', '1'],
      ['x-multi', '2'],
    ]);
    expect(dec.decode(req.body)).toBe('hi');
  });

  it('writes a response Go can read: status line, fields, Content-Length, body', () => {
    const out = encodeResponse(404, '', [['content-type', 'text/plain']], enc.encode('nope'));
    expect(dec.decode(out)).toBe('HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 4\r\n\r\nnope');
  });
});
