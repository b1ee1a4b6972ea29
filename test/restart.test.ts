/**
 * Durability through the embedding API: what one host deploys into a data
 * directory, a new host on the same directory lists and serves unchanged,
 * without transpiling known bytes again; and what an interrupted write left
 * behind never shows up as a function.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHost, type Host } from '../host/index.ts';

const HELLO = new Uint8Array(readFileSync(new URL('../components/hello/hello.wasm', import.meta.url)));
const INSPECT = new Uint8Array(readFileSync(new URL('../components/inspect/inspect.wasm', import.meta.url)));

const hosts = new Set<Host>();
const temps: string[] = [];

afterEach(async () => {
  await Promise.all([...hosts].map((h) => h.close()));
  hosts.clear();
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'micron-restart-'));
  temps.push(dir);
  return dir;
}

async function open(dataDir: string): Promise<Host> {
  const host = await createHost({ dataDir, adminToken: 'test-token-0123456789', log: false });
  hosts.add(host);
  return host;
}

async function close(host: Host): Promise<void> {
  hosts.delete(host);
  await host.close();
}

async function call(host: Host, path: string): Promise<{ status: number; body: string }> {
  const res = await host.fetch(new Request(`http://127.0.0.1${path}`));
  return { status: res.status, body: await res.text() };
}

describe('a host restarted on the same data directory', () => {
  it('lists the same functions, versions and digests and serves them with their configuration', async () => {
    const dir = tempDir();
    const first = await open(dir);
    const hello = await first.deploy('hello', HELLO);
    const inspect = await first.deploy('inspect', INSPECT, { env: { A: '1' } });
    const before = await first.list();
    await close(first);

    const second = await open(dir);
    const after = await second.list();
    expect(after.map((f) => [f.name, f.version, f.digest, f.size])).toEqual([
      ['hello', hello.version, hello.digest, HELLO.length],
      ['inspect', inspect.version, inspect.digest, INSPECT.length],
    ]);
    expect(after).toEqual(before);
    expect((await second.get('inspect'))?.config).toEqual({ env: { A: '1' }, allowedHosts: [] });

    expect(await call(second, '/hello/')).toEqual({ status: 200, body: 'Hello from Micron!\n' });
    const shown = await call(second, '/inspect/');
    expect(shown.status).toBe(200);
    expect(shown.body).toContain('\nenv: A=1\n');
  });

  it('redeploys bytes it already holds without transpiling them again', async () => {
    const dir = tempDir();
    const first = await open(dir);
    const original = await first.deploy('hello', HELLO);
    expect(original.reused).toBe(false);
    await close(first);

    const second = await open(dir);
    const again = await second.deploy('hello', HELLO);
    expect(again).toMatchObject({ name: 'hello', version: 'v2', versions: 2, digest: original.digest, reused: true, transpileMs: 0 });
    expect(await call(second, '/hello/')).toEqual({ status: 200, body: 'Hello from Micron!\n' });
  });
});

describe('an interrupted write', () => {
  it('leaves no partial function: temp files are removed at start and only complete functions are listed', async () => {
    const dir = tempDir();
    const first = await open(dir);
    const hello = await first.deploy('hello', HELLO);
    await close(first);

    // What a crash in the middle of atomicWrite leaves: a temp record (half a
    // JSON document of a function never committed) and half-written blob temps.
    const strayRecord = join(dir, 'functions', '.tmp-xyz');
    writeFileSync(strayRecord, '{"name":"ghost","versions":[{"id":"v1","dig');
    const strayBlob = join(dir, 'blobs', hello.digest, '.tmp-abc');
    writeFileSync(strayBlob, HELLO.subarray(0, 100));
    // A deploy of inspect that stopped after its component blob, before its
    // artifacts were complete (meta.json is written last) and before its record.
    const inspectDigest = createHash('sha256').update(INSPECT).digest('hex');
    mkdirSync(join(dir, 'blobs', inspectDigest));
    writeFileSync(join(dir, 'blobs', inspectDigest, 'component.wasm'), INSPECT);
    writeFileSync(join(dir, 'blobs', inspectDigest, '.tmp-def'), INSPECT.subarray(0, 10));

    const second = await open(dir);
    expect(readdirSync(join(dir, 'functions'))).toEqual(['hello.json']);
    expect(readdirSync(join(dir, 'blobs', hello.digest)).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    // No record refers to the interrupted deploy's artifacts: they are removed at start.
    expect(existsSync(join(dir, 'blobs', inspectDigest))).toBe(false);
    expect((await second.list()).map((f) => f.name)).toEqual(['hello']);
    expect(await second.get('ghost')).toBeUndefined();
    expect(await call(second, '/hello/')).toEqual({ status: 200, body: 'Hello from Micron!\n' });

    // The deploy builds them.
    const inspect = await second.deploy('inspect', INSPECT);
    expect(inspect).toMatchObject({ digest: inspectDigest, version: 'v1', reused: false });
    expect((await call(second, '/inspect/')).status).toBe(200);
  });
});
