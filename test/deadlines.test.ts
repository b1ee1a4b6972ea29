/**
 * Deadlines over real HTTP: a guest that never yields (an infinite loop in
 * wasm on the main thread) is stopped at its deadline; the client gets 504
 * `deadline_exceeded` with the request id, other functions keep serving, and
 * the next request to the same function works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../host/index.js';
import { useWatchdog, watchdog } from '../host/runtime/watchdog/index.js';
import { buildGuest, GUESTS } from './guests.js';
import { fixture, tempHost } from './helpers.js';
import { errorBody, request } from './http-client.js';

let host: Host;
let cleanup: () => Promise<void>;
let base: string;
const logs: string[] = [];
const DEADLINE = 300;

beforeAll(async () => {
  ({ host, cleanup } = await tempHost({ log: (l) => logs.push(l) }));
  const limits = { deadlineMs: DEADLINE };
  await host.deploy('spin', await buildGuest(GUESTS.spin.body), { limits });
  await host.deploy('spin-on-post', await buildGuest(GUESTS.spinOnPost.body), { limits });
  await host.deploy('spin-after-head', await buildGuest(GUESTS.spinAfterHead.body, GUESTS.spinAfterHead), { limits });
  const spinningStart = await buildGuest(GUESTS.sleep(0).body, { fields: '(func $init (loop $forever (br $forever))) (start $init)' });
  await host.deploy('spin-at-start', spinningStart, { limits });
  await host.deploy('hello', fixture('hello'));
  const { public: addr } = await host.listen({ port: 0, host: '127.0.0.1', adminPort: 0 });
  base = `http://127.0.0.1:${addr.port}`;
}, 60_000);

afterAll(async () => cleanup());

function expectDeadline(a: Awaited<ReturnType<typeof request>>): void {
  expect(a.status).toBe(504);
  const id = a.headers['x-micron-request-id'];
  expect(id).toMatch(/^[0-9a-f]{14}$/);
  expect(errorBody(a)).toMatchObject({ code: 'deadline_exceeded', requestId: id });
}

describe(`a guest that never yields (watchdog: ${watchdog.kind})`, () => {
  it('is stopped at its deadline and answered 504 deadline_exceeded with the request id', async () => {
    expectDeadline(await request(base, '/spin/'));
  });

  it('does not stop other functions from serving: requests that arrived meanwhile are answered', async () => {
    const spinning = request(base, '/spin/');
    const others = await Promise.all(Array.from({ length: 10 }, () => request(base, '/hello/')));
    expect(others.map((a) => a.status)).toEqual(Array(10).fill(200));
    expectDeadline(await spinning);
  });

  it('leaves the function able to answer its next request', async () => {
    expectDeadline(await request(base, '/spin-on-post/', { method: 'POST', body: 'x' }));
    const next = await request(base, '/spin-on-post/');
    expect([next.status, next.body.toString()]).toEqual([200, 'ok\n']);
    expectDeadline(await request(base, '/spin-on-post/', { method: 'POST', body: 'x' }));
    expect((await request(base, '/spin-on-post/')).status).toBe(200);
  });

  it('cuts a streamed response short when the head was already sent', async () => {
    const a = await request(base, '/spin-after-head/');
    expect(a.status).toBe(200);
    expect(a.body.toString()).toBe('ok\n');
    expect(a.error).toBeDefined();
    expect((await request(base, '/hello/')).status).toBe(200);
  });

  it('stops a start function that never returns', async () => {
    expectDeadline(await request(base, '/spin-at-start/'));
    expect((await request(base, '/hello/')).status).toBe(200);
  });

  it('logs the stop under the request id', async () => {
    const a = await request(base, '/spin/');
    const id = a.headers['x-micron-request-id'];
    let entry: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !entry; i++) {
      entry = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.requestId === id && e.function === 'spin');
      if (!entry) await new Promise((r) => setTimeout(r, 10));
    }
    expect(JSON.stringify(entry)).toContain('deadline');
  });
});

describe('the vm fallback watchdog', () => {
  it('stops the same guest, when the native addon is not available', async () => {
    const before = watchdog.kind;
    useWatchdog('vm');
    try {
      expectDeadline(await request(base, '/spin/'));
      expect((await request(base, '/hello/')).status).toBe(200);
    } finally {
      if (before !== 'vm') useWatchdog(before);
    }
  });
});
