import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientError, send, type OutboundRequest } from './client.js';
import { fromClientError } from './error-code.js';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;
const handlers = new Map<string, Handler>();
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => handlers.get(req.url ?? '')?.(req, Buffer.concat(chunks), res));
});
let base: string;

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const request = (path: string, init: Partial<OutboundRequest> = {}): Promise<Awaited<ReturnType<typeof send>>> =>
  send({ method: 'GET', url: new URL(path, base), headers: [], body: new Uint8Array(0), signal: new AbortController().signal, ...init });

async function text(body: ReadableStream<Uint8Array>): Promise<string> {
  return Buffer.from(await new Response(body).arrayBuffer()).toString('latin1');
}

describe('outbound client', () => {
  it('sends the method, the headers with repeats, and the body with its length, and nothing else', async () => {
    let got: { method?: string; raw: string[]; body: string } | undefined;
    handlers.set('/echo?x=1', (req, body, res) => {
      got = { method: req.method, raw: req.rawHeaders, body: body.toString() };
      res.end('ok');
    });
    const res = await request('/echo?x=1', { method: 'PUT', headers: [['x-a', '1'], ['X-B', 'two'], ['x-a', '3']], body: new TextEncoder().encode('payload') });
    expect(await text(res.body)).toBe('ok');
    expect(got!.method).toBe('PUT');
    expect(got!.body).toBe('payload');
    const pairs: [string, string][] = [];
    for (let i = 0; i < got!.raw.length; i += 2) pairs.push([got!.raw[i]!.toLowerCase(), got!.raw[i + 1]!]);
    // Values of one name keep their order (the order of different names carries no meaning in HTTP).
    expect(pairs.filter(([n]) => n === 'x-a')).toEqual([['x-a', '1'], ['x-a', '3']]);
    expect(pairs.filter(([n]) => n !== 'x-a').sort()).toEqual([
      ['connection', 'keep-alive'],
      ['content-length', '7'],
      ['host', new URL(base).host],
      ['x-b', 'two'],
    ]);
  });

  it('returns the response head and body bytes as sent: repeated headers, non-ASCII bytes, no decoding', async () => {
    handlers.set('/raw', (_req, _body, res) => {
      res.writeHead(201, 'Made', [
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
        ['content-encoding', 'gzip'],
        ['x-latin', 'caf\xc3\xa9'],
      ]);
      res.end(Buffer.from([0x1f, 0x8b, 0x00, 0xff]));
    });
    const res = await request('/raw');
    expect([res.status, res.statusText]).toEqual([201, 'Made']);
    expect(res.headers.filter(([n]) => n !== 'date' && n !== 'connection' && n !== 'keep-alive' && n !== 'transfer-encoding')).toEqual([
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['content-encoding', 'gzip'],
      ['x-latin', 'caf\xc3\xa9'],
    ]);
    expect([...Buffer.from(await text(res.body), 'latin1')]).toEqual([0x1f, 0x8b, 0x00, 0xff]);
  });

  it('refuses a declared content-length that is not the body length, before sending', async () => {
    const e = await request('/never', { method: 'POST', headers: [['content-length', '10']], body: new Uint8Array(3) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ClientError);
    expect(fromClientError(e)).toEqual({ tag: 'HTTP-request-body-size', val: undefined });
  });

  it('times out waiting for the response head (HTTP-response-timeout)', async () => {
    handlers.set('/slow-head', () => undefined);
    const e = await request('/slow-head', { firstByteTimeoutMs: 50 }).catch((x: unknown) => x);
    expect((e as ClientError).code).toBe('FIRST_BYTE_TIMEOUT');
    expect(fromClientError(e)).toEqual({ tag: 'HTTP-response-timeout' });
  });

  it('fails the body when it stalls longer than the between-bytes timeout', async () => {
    handlers.set('/stall', (_req, _body, res) => {
      res.writeHead(200, { 'content-length': '10' });
      res.write('12345');
    });
    const res = await request('/stall', { betweenBytesTimeoutMs: 50 });
    const e = await text(res.body).catch((x: unknown) => x);
    expect((e as ClientError).code).toBe('BETWEEN_BYTES_TIMEOUT');
  });

  it('fails the body when the upstream closes before its end', async () => {
    handlers.set('/cut', (_req, _body, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only some', () => res.socket?.destroy());
    });
    const res = await request('/cut');
    await expect(text(res.body)).rejects.toThrow();
  });

  it('stops at the signal', async () => {
    handlers.set('/hang', () => undefined);
    const abort = new AbortController();
    const pending = request('/hang', { signal: abort.signal });
    abort.abort(new Error('the invocation ended'));
    await expect(pending).rejects.toThrow('the invocation ended');
  });

  it('reports a refused connection with its errno code', async () => {
    const e = await send({ method: 'GET', url: new URL('http://127.0.0.1:1/'), headers: [], body: new Uint8Array(0), signal: new AbortController().signal }).catch((x: unknown) => x);
    expect(fromClientError(e)).toEqual({ tag: 'connection-refused' });
  });
});
