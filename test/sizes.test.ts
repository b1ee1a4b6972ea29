/**
 * Size limits over real HTTP: request bodies (413, declared or streamed),
 * request headers (431), and guest output flooding the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../host/index.js';
import { buildGuest, GUESTS } from './guests.js';
import { admin, fixture, tempHost } from './helpers.js';
import { errorBody, pieces, request } from './http-client.js';

let host: Host;
let cleanup: () => Promise<void>;
let base: string;
const logs: string[] = [];
const LIMIT = 100_000;
const FLOOD_LINES = 100_000;

beforeAll(async () => {
  ({ host, cleanup } = await tempHost({ log: (l) => logs.push(l) }));
  await host.deploy('echo', fixture('echo'), { limits: { requestBodyBytes: LIMIT } });
  await host.deploy('sink', await buildGuest(GUESTS.sink.body, GUESTS.sink), { limits: { requestBodyBytes: LIMIT } });
  const flood = GUESTS.logFlood(FLOOD_LINES);
  await host.deploy('flood', await buildGuest(flood.body, flood));
  await host.deploy('hello', fixture('hello'));
  const { public: addr } = await host.listen({ port: 0, host: '127.0.0.1', adminPort: 0 });
  base = `http://127.0.0.1:${addr.port}`;
}, 60_000);

afterAll(async () => cleanup());

describe('request body limit', () => {
  it('accepts a body at the limit, declared or streamed', async () => {
    const declared = await request(base, '/sink/', { body: new Uint8Array(LIMIT) });
    expect([declared.status, declared.body.toString()]).toEqual([200, String(LIMIT)]);
    const streamed = await request(base, '/sink/', { body: pieces(LIMIT) });
    expect([streamed.status, streamed.body.toString()]).toEqual([200, String(LIMIT)]);
  });

  it('answers 413 before running the function when the declared length is over the limit', async () => {
    const a = await request(base, '/echo/', { body: new Uint8Array(LIMIT + 1) });
    expect(a.status).toBe(413);
    expect(errorBody(a)).toMatchObject({ code: 'payload_too_large', requestId: a.headers['x-micron-request-id'] });
  });

  it('answers 413 when a streamed body goes over the limit before the function has answered', async () => {
    const a = await request(base, '/sink/', { body: pieces(LIMIT * 3) });
    expect(a.status).toBe(413);
    expect(errorBody(a)).toMatchObject({ code: 'payload_too_large', message: expect.stringContaining(String(LIMIT)) });
  });

  it('cuts the response short when the function already sent its head, and the function keeps serving', async () => {
    // echo sends its head before reading: the status is out; the body stops at the limit.
    const a = await request(base, '/echo/', { body: pieces(LIMIT * 3) });
    if (a.status !== 0) expect(a.status).toBe(200);
    expect(a.body.length).toBeLessThanOrEqual(LIMIT);
    expect(a.error).toBeDefined();
    const again = await request(base, '/echo/', { body: 'still here' });
    expect(again.body.toString()).toBe('still here');
  });

  it('records a streamed body over the limit as payload_too_large (413), also when the head was already sent', async () => {
    const records = async (fn: string): Promise<{ status: number; outcome: string; detail?: string }[]> =>
      ((await (await host.adminFetch(admin(`/v1/functions/${fn}/logs`))).json()) as { records: { status: number; outcome: string; detail?: string }[] }).records;
    const rejections = async (fn: string): Promise<number> => {
      const text = await (await host.adminFetch(admin('/metrics'))).text();
      return Number(new RegExp(`^micron_rejections_total\\{function="${fn}",reason="payload_too_large"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    };
    for (const fn of ['echo', 'sink']) {
      const before = await rejections(fn);
      const seen = (await records(fn)).length;
      await request(base, `/${fn}/`, { body: pieces(LIMIT * 3) });
      // The record is made when the guest has finished, which may be after the client's answer.
      let now = await records(fn);
      for (let i = 0; i < 200 && now.length === seen; i++) {
        await new Promise((r) => setTimeout(r, 10));
        now = await records(fn);
      }
      expect(now.length, fn).toBe(seen + 1);
      expect(now.at(-1), fn).toMatchObject({ status: 413, outcome: 'trap', detail: `the request body went over the limit of ${LIMIT} bytes` });
      expect(await rejections(fn)).toBe(before + 1);
    }
  });
});

describe('request header limits', () => {
  it('answers 431 to a request with more header fields than allowed', async () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 120; i++) headers[`x-h-${i}`] = 'v';
    const a = await request(base, '/hello/', { headers });
    expect(a.status).toBe(431);
    expect(errorBody(a)).toMatchObject({ code: 'header_too_large', message: expect.stringContaining('header fields; the limit is 100') });
    expect(a.headers['x-micron-request-id']).toMatch(/^[0-9a-f]{14}$/);
  });

  it('answers 431 to a request whose headers are larger than allowed', async () => {
    const a = await request(base, '/hello/', { headers: { 'x-big': 'b'.repeat(70 * 1024) } });
    expect(a.status).toBe(431);
    expect(errorBody(a).code).toBe('header_too_large');
  });

  it('serves requests within the limits, large headers included', async () => {
    const a = await request(base, '/hello/', { headers: { 'x-big': 'b'.repeat(20 * 1024) } });
    expect([a.status, a.body.toString()]).toEqual([200, 'Hello from Micron!\n']);
  });
});

describe('guest output', () => {
  it('keeps at most the per-invocation budget of a flooding guest and counts the rest', async () => {
    logs.length = 0;
    const a = await request(base, '/flood/');
    expect([a.status, a.body.toString()]).toEqual([200, 'ok\n']);
    const id = a.headers['x-micron-request-id'];
    // The guest's lines are logged once it is done; they are either lines of their own
    // or the `logs` of the invocation's record line.
    let kept = -1;
    let dropped = -1;
    for (let i = 0; i < 100 && dropped < 0; i++) {
      const entries = logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.requestId === id);
      kept = 0;
      for (const e of entries) {
        if (e.stream === 'stdout') kept += String(e.msg).length + 1;
        for (const l of (e.logs as { line: string }[] | undefined) ?? []) kept += l.line.length + 1;
        if (e.msg === 'guest output truncated') dropped = Number(e.droppedBytes);
        if (typeof e.logDropped === 'number' && e.logDropped > 0) dropped = e.logDropped;
      }
      if (dropped < 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(64 * 1024);
    expect(dropped + kept).toBe(FLOOD_LINES * 64);
  });
});
