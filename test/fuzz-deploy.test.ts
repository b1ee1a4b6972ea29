/**
 * Fuzzing the deploy endpoint with mutated component bytes (a seeded mutator:
 * the same seed gives the same inputs, so a failure can be replayed with
 * MICRON_FUZZ_SEED). Over real HTTP to the admin listener: every answer is a
 * JSON 4xx with a stable code (or a 2xx when a mutation happens to leave a
 * valid component), never a 5xx, a crash or a hang; afterwards the other
 * functions are unchanged and still serve, also after a restart on the same
 * data directory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../host/errors.js';
import { createHost, type Host } from '../host/index.js';
import { fixture } from './helpers.js';
import { request } from './http-client.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SEED = Number(process.env.MICRON_FUZZ_SEED ?? 20261122);
const ITERATIONS = Number(process.env.MICRON_FUZZ_ITERATIONS ?? 300);
const SEEDS = ['hello', 'echo', 'stream', 'inspect', 'trap'].map((n) => fixture(n));

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mutated component bytes: 1–4 mutations of a fixture, mostly keeping the 8-byte header. */
export function mutate(rand: () => number): { bytes: Uint8Array; how: string[] } {
  const int = (n: number): number => Math.floor(rand() * n);
  let b: Uint8Array = SEEDS[int(SEEDS.length)]!.slice();
  const how: string[] = [];
  const pos = (): number => (rand() < 0.9 ? 8 + int(Math.max(1, b.length - 8)) : int(b.length));
  const interesting = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x40, 0x0b, 0x60];
  for (let m = 0, n = 1 + int(4); m < n && b.length > 0; m++) {
    const kind = int(8);
    const p = pos();
    if (kind === 0) {
      b[p] = b[p]! ^ (1 << int(8));
      how.push(`flip@${p}`);
    } else if (kind === 1) {
      b[p] = rand() < 0.5 ? interesting[int(interesting.length)]! : int(256);
      how.push(`set@${p}`);
    } else if (kind === 2) {
      b = b.slice(0, p);
      how.push(`truncate@${p}`);
    } else if (kind === 3) {
      const len = 1 + int(64);
      b = concat(b.subarray(0, p), b.subarray(Math.min(b.length, p + len)));
      how.push(`delete@${p}+${len}`);
    } else if (kind === 4) {
      const ins = Uint8Array.from({ length: 1 + int(64) }, () => int(256));
      b = concat(b.subarray(0, p), ins, b.subarray(p));
      how.push(`insert@${p}+${ins.length}`);
    } else if (kind === 5) {
      const len = 1 + int(256);
      b = concat(b.subarray(0, p), b.subarray(p, p + len), b.subarray(p));
      how.push(`dup@${p}+${len}`);
    } else if (kind === 6) {
      // A huge LEB128 where a size or index may be.
      b = concat(b.subarray(0, p), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f), b.subarray(Math.min(b.length, p + 1)));
      how.push(`leb@${p}`);
    } else {
      const other = SEEDS[int(SEEDS.length)]!;
      const q = int(other.length);
      b = concat(b.subarray(0, p), other.subarray(q));
      how.push(`splice@${p}/${q}`);
    }
  }
  return { bytes: b, how };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

let dir: string;
let host: Host;
let adminBase: string;
let publicBase: string;

async function open(): Promise<void> {
  host = await createHost({ dataDir: dir, adminToken: 'test-token-0123456789', log: false });
  const addr = await host.listen({ port: 0, host: '127.0.0.1', adminPort: 0 });
  adminBase = `http://127.0.0.1:${addr.admin.port}`;
  publicBase = `http://127.0.0.1:${addr.public.port}`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'micron-fuzz-'));
  await open();
  await host.deploy('hello', fixture('hello'));
  await host.deploy('echo', fixture('echo'), { env: { A: '1' } });
}, 60_000);

afterAll(async () => {
  await host.close();
  rmSync(dir, { recursive: true, force: true });
});

const deploy = (bytes: Uint8Array) =>
  request(adminBase, '/v1/functions/fuzz', { method: 'PUT', body: bytes, headers: { authorization: 'Bearer test-token-0123456789', 'content-type': 'application/wasm' } });

describe(`the deploy endpoint under ${ITERATIONS} mutated components (seed ${SEED})`, () => {
  it('answers every one with a JSON 4xx and a stable code, or accepts a still-valid component', async () => {
    const before = (await host.list()).filter((f) => f.name !== 'fuzz');
    const rand = prng(SEED);
    const tally = new Map<string, number>();
    for (let i = 0; i < ITERATIONS; i++) {
      const { bytes, how } = mutate(rand);
      const a = await deploy(bytes);
      const where = `iteration ${i} (${how.join(', ')})`;
      expect(a.error, where).toBeUndefined();
      let key: string;
      if (a.status === 200 || a.status === 201) {
        key = String(a.status);
      } else {
        expect(a.status, where).toBeGreaterThanOrEqual(400);
        expect(a.status, where).toBeLessThan(500);
        const body = JSON.parse(a.body.toString()) as { error: { code: keyof typeof ERROR_CODES; message: string } };
        expect(Object.keys(ERROR_CODES), where).toContain(body.error.code);
        expect(ERROR_CODES[body.error.code].status, where).toBe(a.status);
        expect(body.error.message, where).not.toMatch(/\n\s+at /);
        key = `${a.status} ${body.error.code}`;
      }
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    process.stdout.write(`fuzz answers: ${JSON.stringify(Object.fromEntries([...tally].sort()))}\n`);
    expect([...tally.keys()].some((k) => k.startsWith('4'))).toBe(true);

    // Store integrity: the other functions are exactly as they were, and serve.
    expect((await host.list()).filter((f) => f.name !== 'fuzz')).toEqual(before);
    expect((await request(publicBase, '/hello/')).body.toString()).toBe('Hello from Micron!\n');
    expect((await request(publicBase, '/echo/', { body: 'intact' })).body.toString()).toBe('intact');
    // A fuzzed function that was accepted answers like any function: a response or a clean 5xx.
    if (await host.get('fuzz')) {
      const a = await request(publicBase, '/fuzz/');
      expect(a.status).toBeGreaterThan(0);
    }
  }, 300_000);

  it('leaves a data directory that a restarted host lists and serves unchanged', async () => {
    const before = await host.list();
    await host.close();
    await open();
    expect(await host.list()).toEqual(before);
    expect((await request(publicBase, '/hello/')).body.toString()).toBe('Hello from Micron!\n');
    expect((await request(publicBase, '/echo/', { body: 'after restart' })).body.toString()).toBe('after restart');
  });
});
