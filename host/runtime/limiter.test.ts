import { describe, expect, it } from 'vitest';
import { Limiter, type Permit, type Refusal } from './limiter.js';

const lim = (maxInFlight: number, maxQueued: number, queueTimeoutMs = 60_000) => ({ maxInFlight, maxQueued, queueTimeoutMs });
const isPermit = (x: unknown): x is Permit => typeof x === 'object' && x !== null && 'release' in x;

describe('Limiter', () => {
  it('admits synchronously while slots are free, then queues, then refuses', async () => {
    const l = new Limiter(100);
    const a = l.acquire('f', lim(2, 1));
    const b = l.acquire('f', lim(2, 1));
    expect(isPermit(a) && isPermit(b)).toBe(true);
    const c = l.acquire('f', lim(2, 1));
    expect(c).toBeInstanceOf(Promise);
    expect(l.acquire('f', lim(2, 1))).toEqual({ refused: 'queue_full', waitedMs: 0 });
    (a as Permit).release();
    expect(isPermit(await c)).toBe(true);
    expect(l.stats().functions.f).toMatchObject({ inFlight: 2, queued: 0, admitted: 3, refused: 1 });
  });

  it('counts a release once however often it is called', () => {
    const l = new Limiter(100);
    const a = l.acquire('f', lim(1, 0)) as Permit;
    a.release();
    a.release();
    expect(l.stats().inFlight).toBe(0);
    const b = l.acquire('f', lim(1, 0));
    expect(isPermit(b)).toBe(true);
    expect(l.acquire('f', lim(1, 0))).toMatchObject({ refused: 'queue_full' });
  });

  it('refuses a waiter whose queue timeout passes, and one whose client went away', async () => {
    const l = new Limiter(100);
    l.acquire('f', lim(1, 5, 20));
    expect(await l.acquire('f', lim(1, 5, 20))).toMatchObject({ refused: 'queue_timeout' });
    const ac = new AbortController();
    const waiting = l.acquire('f', lim(1, 5), () => ac.signal);
    ac.abort();
    expect(await waiting).toMatchObject({ refused: 'aborted' });
    expect(l.stats().functions.f).toMatchObject({ inFlight: 1, queued: 0 });
  });

  it('gives freed host slots to waiting functions in turn, not to the one that floods', async () => {
    const l = new Limiter(2);
    const held = [l.acquire('flood', lim(10, 100)) as Permit, l.acquire('flood', lim(10, 100)) as Permit];
    const order: string[] = [];
    // Each granted request records itself and finishes a moment later.
    const track = (name: string, p: ReturnType<Limiter['acquire']>) =>
      (p as Promise<Permit | Refusal>).then((r) => {
        if (isPermit(r)) {
          order.push(name);
          setImmediate(() => r.release());
        }
        return r;
      });
    const floods = Array.from({ length: 5 }, () => track('flood', l.acquire('flood', lim(10, 100))));
    const quiet = [track('quiet', l.acquire('quiet', lim(10, 100))), track('quiet', l.acquire('quiet', lim(10, 100)))];
    held[0]!.release();
    held[1]!.release();
    const all = await Promise.all([...floods, ...quiet]);
    expect(all.every(isPermit)).toBe(true);
    // The quiet function is served within the first rounds, alternating with the flood.
    expect(order.slice(0, 4)).toEqual(['flood', 'quiet', 'flood', 'quiet']);
    await new Promise((r) => setImmediate(r));
    expect(l.stats()).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('keeps an idle function\'s state between requests, and forgets idle functions once it tracks too many', () => {
    const l = new Limiter(100);
    for (let i = 0; i < 3; i++) (l.acquire('steady', lim(1, 0)) as Permit).release();
    expect(l.stats().functions.steady).toMatchObject({ inFlight: 0, admitted: 3 });
    const held = l.acquire('busy', lim(1, 0)) as Permit;
    for (let i = 0; i < 3000; i++) (l.acquire(`fn-${i}`, lim(1, 0)) as Permit).release();
    const tracked = Object.keys(l.stats().functions);
    expect(tracked.length).toBeLessThanOrEqual(1025);
    // A function with a request in flight is never forgotten.
    expect(tracked).toContain('busy');
    held.release();
    expect(l.stats().inFlight).toBe(0);
  });
});
