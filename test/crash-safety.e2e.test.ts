/**
 * Crash safety: a real `micron serve` child process is killed with SIGKILL
 * in the middle of deploys, again and again, on the same data directory.
 * After every restart, each deploy that got a 2xx is still there with the
 * same version and digest and is served with the same bytes (each variant
 * answers with its own body), and nothing else appears: no partial function,
 * no version whose bytes we did not send.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuest } from './guests.js';
import { request } from './http-client.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'micron.js');
const TOKEN = 'crash-test-token';
const NAMES = ['alpha', 'beta', 'gamma'];
const ROUNDS = Number(process.env.MICRON_CRASH_ROUNDS ?? 6);
const VARIANTS = 16;

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

interface Variant {
  bytes: Uint8Array;
  digest: string;
  body: string;
}

let dir: string;
let variants: Variant[];
const byDigest = new Map<string, Variant>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'micron-crash-'));
  // Distinct components (distinct bytes, so every deploy transpiles, instruments and writes blobs).
  variants = [];
  for (let i = 0; i < VARIANTS; i++) {
    const body = `variant ${String(i).padStart(2, '0')}\n`;
    const bytes = await buildGuest(`(call $respond (local.get $out) (i32.const 200) (i32.const 512) (i32.const ${body.length}))`, {
      fields: `(data (i32.const 512) ${JSON.stringify(body).replace(/\\n/g, '\\0a')})`,
    });
    const v = { bytes, digest: createHash('sha256').update(bytes).digest('hex'), body };
    variants.push(v);
    byDigest.set(v.digest, v);
  }
}, 120_000);

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `micron serve` on the data dir; resolves with its ports once it listens. */
function serve(): Promise<{ child: ChildProcess; pub: string; admin: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, MICRON_ADMIN_TOKEN: TOKEN };
  for (const k of Object.keys(env)) if (k.startsWith('MICRON_') && k !== 'MICRON_ADMIN_TOKEN') delete env[k];
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--admin-port', '0', '--host', '127.0.0.1', '--data-dir', dir, '--no-examples'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{"msg":"listening"'));
      if (line) {
        const { public: p, admin: a } = JSON.parse(line) as { public: number; admin: number };
        resolve({ child, pub: `http://127.0.0.1:${p}`, admin: `http://127.0.0.1:${a}` });
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('exit', (code, signal) => reject(new Error(`micron serve exited (${code ?? signal}) before listening:\n${err}`)));
  });
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok();
    child.once('exit', () => ok());
    child.kill('SIGKILL');
  });
}

interface Acked {
  version: string;
  digest: string;
}

/** Deploys that got a 2xx, per function, in order. */
const acked = new Map<string, Acked[]>(NAMES.map((n) => [n, []]));

/** A seeded PRNG, so a failing schedule can be replayed. */
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

/** Checks the restarted host against everything acknowledged so far. */
async function verify(pub: string, admin: string): Promise<void> {
  const auth = { authorization: `Bearer ${TOKEN}` };
  const list = JSON.parse((await request(admin, '/v1/functions', { headers: auth })).body.toString()) as { functions: { name: string }[] };
  const names = list.functions.map((f) => f.name);
  // No function we never got an answer for... unless its first deploy committed just before the kill.
  for (const n of names) expect(NAMES).toContain(n);
  for (const name of NAMES) {
    const mine = acked.get(name)!;
    if (mine.length === 0 && !names.includes(name)) continue;
    expect(names, `function ${name} lost`).toContain(name);
    const info = JSON.parse((await request(admin, `/v1/functions/${name}/versions`, { headers: auth })).body.toString() || '{}') as {
      versions?: { id: string; digest: string }[];
    };
    const get = JSON.parse((await request(admin, `/v1/functions/${name}`, { headers: auth })).body.toString()) as { version: string; digest: string };
    // Every version on disk carries bytes we sent; every acknowledged one is there unchanged.
    const versions = info.versions ?? [];
    for (const v of versions) expect(byDigest.has(v.digest), `${name} ${v.id} has unknown bytes`).toBe(true);
    for (const a of mine) {
      if (versions.length > 0) expect(versions).toContainEqual(expect.objectContaining({ id: a.version, digest: a.digest }));
    }
    expect(byDigest.has(get.digest)).toBe(true);
    const last = mine[mine.length - 1];
    if (last) expect(Number(get.version.slice(1))).toBeGreaterThanOrEqual(Number(last.version.slice(1)));
    if (last && get.version === last.version) expect(get.digest).toBe(last.digest);
    // Served with the bytes of the version traffic is on.
    const served = await request(pub, `/${name}/`);
    expect(served.status, `${name} serves`).toBe(200);
    expect(served.body.toString()).toBe(byDigest.get(get.digest)!.body);
  }
}

describe(`a host killed with SIGKILL in the middle of deploys (${ROUNDS} rounds)`, () => {
  it('keeps every acknowledged deploy, with its version and bytes, and nothing partial', async () => {
    const rand = prng(Number(process.env.MICRON_CRASH_SEED ?? 4242));
    let killedMidDeploy = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const { child, pub, admin } = await serve();
      await verify(pub, admin);
      let inFlight = 0;
      let stop = false;
      // Kill once a random number of deploys (0–4) were acknowledged this round, plus a random moment.
      const target = Math.floor(rand() * 5);
      let ackedThisRound = 0;
      let reached!: () => void;
      const enough = new Promise<void>((r) => (reached = r));
      if (target === 0) reached();
      // One deploy stream per function, concurrently, until the kill.
      const streams = NAMES.map(async (name) => {
        while (!stop) {
          const v = variants[Math.floor(rand() * variants.length)]!;
          inFlight++;
          const a = await request(admin, `/v1/functions/${name}`, {
            method: 'PUT',
            body: v.bytes,
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/wasm' },
          });
          inFlight--;
          if (a.status === 200 || a.status === 201) {
            const r = JSON.parse(a.body.toString()) as { version: string; digest: string };
            expect(r.digest).toBe(v.digest);
            acked.get(name)!.push({ version: r.version, digest: r.digest });
            if (++ackedThisRound >= target) reached();
          } else {
            // Only the kill may interrupt a deploy.
            expect(a.error, `deploy answered ${a.status}: ${a.body.toString()}`).toBeDefined();
            return;
          }
        }
      });
      await enough;
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 300)));
      if (inFlight > 0) killedMidDeploy++;
      await kill9(child);
      stop = true;
      await Promise.all(streams);
    }
    const { child, pub, admin } = await serve();
    await verify(pub, admin);
    await kill9(child);
    const total = [...acked.values()].reduce((n, a) => n + a.length, 0);
    process.stdout.write(`crash safety: ${ROUNDS} kills, ${killedMidDeploy} with a deploy in flight, ${total} acknowledged deploys verified after each restart\n`);
    expect(total).toBeGreaterThan(0);
    expect(killedMidDeploy).toBeGreaterThan(0);
  }, 300_000);
});
