/**
 * Linear memory limits: a guest cannot grow past its function's cap (nor the
 * host's), and a burst of concurrent slow requests does not pile up memories
 * (each one reserves gigabytes of address space): the concurrency limit
 * bounds how many are live, and the pool keeps only a few idle ones.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../host/index.js';
import { buildGuest, GUESTS } from './guests.js';
import { tempHost } from './helpers.js';

/** Counts every `new WebAssembly.Memory` and keeps a weak reference to it. */
const OriginalMemory = WebAssembly.Memory;
const created: WeakRef<WebAssembly.Memory>[] = [];
WebAssembly.Memory = new Proxy(OriginalMemory, {
  construct(target, args: [WebAssembly.MemoryDescriptor]) {
    const m = Reflect.construct(target, args) as WebAssembly.Memory;
    created.push(new WeakRef(m));
    return m;
  },
});

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let host: Host;
let cleanup: () => Promise<void>;
const SLOW_IN_FLIGHT = 250;

beforeAll(async () => {
  ({ host, cleanup } = await tempHost({ limits: { memoryPages: 64, hostMaxInFlight: 2000 } }));
  await host.deploy('grow', await buildGuest(GUESTS.grow.body));
  await host.deploy('grow-20', await buildGuest(GUESTS.grow.body), { limits: { memoryPages: 20 } });
  await host.deploy('grow-declared', await buildGuest(GUESTS.grow.body, { maxPages: 10 }));
  const sleep = GUESTS.sleep(30);
  await host.deploy('slow', await buildGuest(sleep.body), { limits: { maxInFlight: SLOW_IN_FLIGHT, maxQueued: 2000 } });
}, 60_000);

afterAll(async () => {
  await cleanup();
  WebAssembly.Memory = OriginalMemory;
});

const call = async (path: string): Promise<{ status: number; body: string }> => {
  const res = await host.fetch(new Request(`http://localhost${path}`));
  return { status: res.status, body: await res.text() };
};

describe('memory limits', () => {
  it('stops a guest growing its memory at the host limit', async () => {
    expect(await call('/grow/')).toEqual({ status: 200, body: '64' });
  });

  it('stops it at the function limit when that is lower', async () => {
    expect(await call('/grow-20/')).toEqual({ status: 200, body: '20' });
  });

  it('keeps a lower maximum the module declares itself', async () => {
    expect(await call('/grow-declared/')).toEqual({ status: 200, body: '10' });
  });

  it('gives the next request a memory of the initial size again', async () => {
    for (let i = 0; i < 3; i++) expect(await call('/grow-20/')).toEqual({ status: 200, body: '20' });
  });
});

describe('a burst of 2,000 concurrent slow requests', () => {
  it('completes every request while live memories stay bounded by the concurrency limit', async () => {
    const before = created.length;
    for (let burst = 0; burst < 3; burst++) {
      const answers = await Promise.all(Array.from({ length: 2000 }, () => call('/slow/')));
      expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    }
    // 6,000 requests, at most SLOW_IN_FLIGHT running at once: memories are
    // reused, never more than one per running request is created.
    const made = created.length - before;
    expect(made).toBeGreaterThan(0);
    expect(made).toBeLessThanOrEqual(3 * SLOW_IN_FLIGHT);
    // Once collected, only the pool's idle memories remain.
    gc();
    await new Promise((r) => setTimeout(r, 10));
    gc();
    const live = created.slice(before).filter((r) => r.deref() !== undefined).length;
    expect(live).toBeLessThanOrEqual(64);
  });
});
