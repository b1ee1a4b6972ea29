/**
 * Guests that break the wasi:http contract, over real HTTP, read as raw
 * bytes so that nothing the HTTP client smooths over goes unseen: each gets a
 * clear answer (a generic 500 with the request id, or a response cut short),
 * no guest detail reaches the client, and the host keeps serving.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../host/index.js';
import { buildGuest, type GuestOptions } from './guests.js';
import { fixture, tempHost } from './helpers.js';

let host: Host;
let cleanup: () => Promise<void>;
let port: number;
const logs: string[] = [];

const GUESTS: Record<string, GuestOptions & { body: string }> = {
  'set-twice': {
    body: `
    (call $respond (local.get $out) (i32.const 200) (i32.const 96) (i32.const 3))
    (call $respond (local.get $out) (i32.const 201) (i32.const 96) (i32.const 3))`,
  },
  'trap-mid-stream': {
    locals: '(local $s i32)',
    body: `
    (local.set $s (call $head (local.get $out) (i32.const 200)))
    (drop (call $write (local.get $s) (i32.const 96) (i32.const 3)))
    (call $sleep_ms (i32.const 10))
    unreachable`,
  },
  'write-after-finish': {
    locals: '(local $s i32)',
    body: `
    (local.set $s (call $head (local.get $out) (i32.const 200)))
    (drop (call $write (local.get $s) (i32.const 96) (i32.const 3)))
    (call $finish)
    ;; The body is finished: this write must not reach the client.
    (drop (call $write (local.get $s) (i32.const 96) (i32.const 3)))`,
  },
  'use-after-finish': {
    locals: '(local $s i32)',
    body: `
    (local.set $s (call $head (local.get $out) (i32.const 200)))
    (drop (call $write (local.get $s) (i32.const 96) (i32.const 3)))
    (call $drop_output_stream (local.get $s))
    (call $finish)
    ;; The outgoing-body handle was consumed by finish.
    (call $body_write (global.get $body) (i32.const 0))`,
  },
  'bad-header-names': {
    locals: '(local $f i32) (local $s i32)',
    fields: `(data (i32.const 200) "bad name") (data (i32.const 220) "x-ok") (data (i32.const 230) "1") (data (i32.const 240) "v\\0d\\0ax")`,
    body: `
    (local.set $f (call $fields_new))
    ;; An invalid name, then a value with CR LF: both refused with header-error; the guest reports what it saw.
    (call $fields_append (local.get $f) (i32.const 200) (i32.const 8) (i32.const 230) (i32.const 1) (i32.const 0))
    (i32.store8 (i32.const 300) (i32.add (i32.const 48) (i32.load8_u (i32.const 0))))
    (i32.store8 (i32.const 301) (i32.add (i32.const 48) (i32.load8_u (i32.const 1))))
    (call $fields_append (local.get $f) (i32.const 220) (i32.const 4) (i32.const 240) (i32.const 4) (i32.const 0))
    (i32.store8 (i32.const 302) (i32.add (i32.const 48) (i32.load8_u (i32.const 0))))
    (i32.store8 (i32.const 303) (i32.add (i32.const 48) (i32.load8_u (i32.const 1))))
    (call $fields_append (local.get $f) (i32.const 220) (i32.const 4) (i32.const 230) (i32.const 1) (i32.const 0))
    (local.set $s (call $head_fields (local.get $out) (local.get $f) (i32.const 200)))
    (drop (call $write (local.get $s) (i32.const 300) (i32.const 4)))
    (call $drop_output_stream (local.get $s))
    (call $finish)`,
  },
};

beforeAll(async () => {
  ({ host, cleanup } = await tempHost({ log: (l) => logs.push(l) }));
  for (const [name, g] of Object.entries(GUESTS)) await host.deploy(name, await buildGuest(g.body, g));
  await host.deploy('no-response', fixture('no-response'));
  await host.deploy('hello', fixture('hello'));
  port = (await host.listen({ port: 0, host: '127.0.0.1', adminPort: 0 })).public.port;
}, 60_000);

afterAll(async () => cleanup());

interface Raw {
  head: string;
  status: number;
  body: string;
  /** The whole exchange as received, until the server closed the connection. */
  raw: string;
}

/** GET over a raw socket; collects every byte the server sends until it closes. */
function rawGet(path: string): Promise<Raw> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n`));
    let raw = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (raw += d));
    const done = (): void => {
      const i = raw.indexOf('\r\n\r\n');
      const head = i === -1 ? raw : raw.slice(0, i);
      resolve({ head, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body: i === -1 ? '' : raw.slice(i + 4), raw });
    };
    s.on('close', done);
    s.on('error', () => undefined);
  });
}

/** The host log entries of a request id. */
async function logOf(id: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const found = logs.filter((l) => l.includes(id));
    if (found.length > 0) return found.join('\n');
    await new Promise((r) => setTimeout(r, 10));
  }
  return '';
}

function requestId(r: Raw): string {
  return /x-micron-request-id: ([0-9a-f]+)/i.exec(r.head)?.[1] ?? '';
}

function expectGeneric500(r: Raw): void {
  expect(r.status).toBe(500);
  const id = requestId(r);
  expect(id).toMatch(/^[0-9a-f]{14}$/);
  expect(JSON.parse(r.body)).toEqual({
    error: { code: 'guest_error', message: `the function failed; details are in the host log under request id ${id}`, requestId: id },
  });
}

describe('guests that break the contract', () => {
  it('answers a guest that sets its response twice with a generic 500, the reason in the log', async () => {
    const r = await rawGet('/set-twice/');
    expectGeneric500(r);
    expect(await logOf(requestId(r))).toContain('response-outparam');
  });

  it('answers a guest that never sets its response with a generic 500', async () => {
    expectGeneric500(await rawGet('/no-response/'));
  });

  it('cuts a response short when the guest traps mid-stream: no final chunk, no trap detail on the wire', async () => {
    const r = await rawGet('/trap-mid-stream/');
    expect(r.status).toBe(200);
    expect(r.head.toLowerCase()).toContain('transfer-encoding: chunked');
    // The chunk written before the trap, then the connection closes without the terminating 0-chunk.
    expect(r.body).toBe('3\r\nok\n\r\n');
    expect(r.raw).not.toMatch(/unreachable|trap|Error/i);
    expect(await logOf(requestId(r))).toContain('unreachable');
  });

  it('keeps a write after the body was finished off the wire', async () => {
    const r = await rawGet('/write-after-finish/');
    expect(r.status).toBe(200);
    expect(r.head).toMatch(/content-length: 3/i);
    expect(r.body).toBe('ok\n');
  });

  it('answers a guest that uses its body after finishing it with a generic 500', async () => {
    const r = await rawGet('/use-after-finish/');
    expectGeneric500(r);
    expect(await logOf(requestId(r))).toContain('outgoing-body');
  });

  it('refuses invalid header names and values to the guest (header-error.invalid-syntax) and sends only valid ones', async () => {
    const r = await rawGet('/bad-header-names/');
    expect(r.status).toBe(200);
    // Each refused append reported err (1) with header-error invalid-syntax (0).
    expect(r.body).toBe('1010');
    const headers = r.head.split('\r\n').slice(1).map((l) => l.toLowerCase());
    expect(headers).toContain('x-ok: 1');
    expect(headers.filter((h) => h.startsWith('bad') || h.startsWith('x-ok: v'))).toEqual([]);
  });

  it('keeps serving after all of them', async () => {
    const r = await rawGet('/hello/');
    expect([r.status, r.body]).toEqual([200, 'Hello from Micron!\n']);
  });
});
