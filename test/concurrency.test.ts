/**
 * Admission over real HTTP: per-function in-flight limits, bounded queues
 * with a timeout, 429 with Retry-After, and a host-wide cap that one flooded
 * function cannot monopolise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../host/index.js';
import { admin, fixture, tempHost } from './helpers.js';

let host: Host;
let cleanup: () => Promise<void>;
let base: string;

beforeAll(async () => {
  // A small host: 4 requests at once in total.
  ({ host, cleanup } = await tempHost({ limits: { hostMaxInFlight: 4, maxInFlight: 4, maxQueued: 50 } }));
  await host.deploy('hello', fixture('hello'));
  // The flooded function may fill the whole host, and queue a little.
  await host.deploy('slow', fixture('stream'), { limits: { maxInFlight: 4, maxQueued: 4 } });
  await host.deploy('one', fixture('stream'), { limits: { maxInFlight: 1, maxQueued: 0 } });
  await host.deploy('brief-queue', fixture('stream'), { limits: { maxInFlight: 1, maxQueued: 1, queueTimeoutMs: 50 } });
  const { public: addr } = await host.listen({ port: 0, host: '127.0.0.1', adminPort: 0 });
  base = `http://127.0.0.1:${addr.port}`;
}, 60_000);

afterAll(async () => cleanup());

interface Answer {
  status: number;
  body: string;
  retryAfter: string | null;
  requestId: string | null;
}

async function get(path: string): Promise<Answer> {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: await res.text(), retryAfter: res.headers.get('retry-after'), requestId: res.headers.get('x-micron-request-id') };
}

describe('concurrency limits', () => {
  it('answers 429 only to the flooded function, while the other one keeps succeeding', async () => {
    const flood = Array.from({ length: 40 }, () => get('/slow/'));
    // Started while the flood holds every host slot: these wait their turn in
    // hello's own queue and get the next freed host slots, ahead of slow's queue.
    const others = await Promise.all(Array.from({ length: 20 }, () => get('/hello/')));
    const flooded = await Promise.all(flood);

    expect(others.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(new Set(others.map((a) => a.body))).toEqual(new Set(['Hello from Micron!\n']));

    const ok = flooded.filter((a) => a.status === 200);
    const refused = flooded.filter((a) => a.status === 429);
    expect(ok.length + refused.length).toBe(40);
    // At most 4 running and 4 waiting at any time; each run takes a while, so most are refused.
    expect(ok.length).toBeGreaterThanOrEqual(4);
    expect(refused.length).toBeGreaterThan(0);
    for (const a of ok) expect(a.body).toBe('chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n');
    for (const a of refused) {
      expect(a.retryAfter).toBe('1');
      expect(a.requestId).toMatch(/^[0-9a-f]{14}$/);
      expect(JSON.parse(a.body)).toMatchObject({ error: { code: 'too_many_requests', requestId: a.requestId } });
    }
  });

  it('serves the flooded function again once its flood is over', async () => {
    expect((await get('/slow/')).status).toBe(200);
  });

  it('holds the slot until the response body has finished, not just until the headers are sent', async () => {
    const res = await fetch(`${base}/one/`);
    expect(res.status).toBe(200);
    // Headers are here, the guest is still streaming: the single slot is taken.
    const during = await get('/one/');
    expect(during.status).toBe(429);
    expect(await res.text()).toContain('chunk 4');
    // The guest has finished: its slot is free again (released when the guest is done,
    // which can be a moment after the last byte reached the client).
    let after = await get('/one/');
    for (let i = 0; i < 20 && after.status === 429; i++) {
      await new Promise((r) => setTimeout(r, 10));
      after = await get('/one/');
    }
    expect(after.status).toBe(200);
  });

  it('refuses a queued request whose wait timed out', async () => {
    const running = get('/brief-queue/');
    const queued = get('/brief-queue/');
    const refused = get('/brief-queue/');
    const [r0, r1, r2] = await Promise.all([running, queued, refused]);
    expect(r0.status).toBe(200);
    // One waits in the queue (and times out while the first runs); the third finds the queue full.
    expect([r1.status, r2.status]).toEqual([429, 429]);
    expect(JSON.parse(r1.body).error.message).toContain('busy for 50 ms');
    expect(JSON.parse(r2.body).error.message).toContain('at its limit (1 running, 1 waiting)');
  });
});

describe('limits in the function configuration', () => {
  it('are shown by the API as configured', async () => {
    const res = await host.adminFetch(admin('/v1/functions/one'));
    expect(((await res.json()) as { config: unknown }).config).toEqual({ env: {}, allowedHosts: [], limits: { maxInFlight: 1, maxQueued: 0 } });
  });

  it('reject an unknown limit with 400 naming the field', async () => {
    const res = await host.adminFetch(
      admin('/v1/functions/bad', {
        method: 'PUT',
        body: fixture('hello'),
        headers: { 'content-type': 'application/wasm', 'x-micron-config': JSON.stringify({ limits: { maxInflight: 3 } }) },
      }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_config');
    expect(body.error.message).toContain('"limits.maxInflight"');
  });

  it.each([
    [{ maxInFlight: 0 }, 'limits.maxInFlight'],
    [{ memoryPages: 70000 }, 'limits.memoryPages'],
    [{ deadlineMs: 1.5 }, 'limits.deadlineMs'],
    // Past what node's timers can hold (2^31 − 1 ms), a timer would fire at once.
    [{ deadlineMs: 2 ** 31 }, 'limits.deadlineMs'],
    [{ queueTimeoutMs: 1e300 }, 'limits.queueTimeoutMs'],
    [{ maxQueued: -1 }, 'limits.maxQueued'],
    [[], 'limits'],
  ])('reject the bad value %j naming %s', async (limits, field) => {
    await expect(host.deploy('bad', fixture('hello'), { limits } as never)).rejects.toMatchObject({ code: 'invalid_config', message: expect.stringContaining(`"${field}"`) });
    expect(await host.get('bad')).toBeUndefined();
  });
});
