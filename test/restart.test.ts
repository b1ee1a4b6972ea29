/**
 * Durability through the embedding API: what one host deploys into a data
 * directory, a new host on the same directory lists and serves unchanged,
 * without transpiling known bytes again; what an interrupted write left
 * behind never shows up as a function; one host per data directory. And what
 * an operator meets when the data directory is damaged (a record file edited
 * by hand, an artifact deleted or truncated), and what freeing it looks like:
 * one bad record never stops the host, a redeploy of the same bytes repairs
 * damaged artifacts, a request to a function whose artifacts are damaged is a
 * logged 500 with a request id, and removing the last function that uses a
 * component frees its stored artifacts.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHost, type Host } from '../host/index.ts';

const HELLO = new Uint8Array(readFileSync(new URL('../components/hello/hello.wasm', import.meta.url)));
const INSPECT = new Uint8Array(readFileSync(new URL('../components/inspect/inspect.wasm', import.meta.url)));
const STREAM = new Uint8Array(readFileSync(new URL('../components/stream/stream.wasm', import.meta.url)));

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

/** A host on `dataDir` whose log lines are kept, parsed. */
async function openLogged(dataDir: string): Promise<{ host: Host; logs: Record<string, unknown>[] }> {
  const logs: Record<string, unknown>[] = [];
  const host = await createHost({ dataDir, adminToken: 'test-token-0123456789', log: (l) => logs.push(JSON.parse(l) as Record<string, unknown>) });
  hosts.add(host);
  return { host, logs };
}

async function callWithId(host: Host, path: string): Promise<{ status: number; body: string; requestId: string | null }> {
  const res = await host.fetch(new Request(`http://127.0.0.1${path}`));
  return { status: res.status, body: await res.text(), requestId: res.headers.get('x-micron-request-id') };
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

describe('the data dir lock', () => {
  it('refuses a second host on a data dir in use, and takes over a lock whose process is gone', async () => {
    const dir = tempDir();
    const first = await open(dir);
    await expect(createHost({ dataDir: dir, adminToken: 'test-token-0123456789', log: false })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('is in use by another host in this process'),
    });
    // The refused start changed nothing: the first host still serves what it had.
    await first.deploy('hello', HELLO);
    await close(first);
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    // What a crash leaves: a lock naming a process that no longer runs.
    writeFileSync(join(dir, 'lock'), '2147483646\n');
    const second = await open(dir);
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(`${process.pid}\n`);
    expect(await call(second, '/hello/')).toEqual({ status: 200, body: 'Hello from Micron!\n' });
  });
});

describe('a damaged function record', () => {
  it('is reported and skipped at start; the other functions are served, and a deploy keeps it aside', async () => {
    const dir = tempDir();
    const first = await openLogged(dir);
    await first.host.deploy('hello', HELLO);
    await first.host.deploy('inspect', INSPECT);
    await close(first.host);
    writeFileSync(join(dir, 'functions', 'inspect.json'), '{"name":"inspect","vers');
    writeFileSync(join(dir, 'functions', 'zzz.json'), '{}');

    const { host, logs } = await openLogged(dir);
    expect((await host.list()).map((f) => f.name)).toEqual(['hello']);
    expect((await callWithId(host, '/hello/')).status).toBe(200);
    expect((await callWithId(host, '/inspect/')).status).toBe(404);
    const reported = logs.filter((l) => l.msg === 'function record is damaged: the function is not served');
    expect(reported.map((l) => [l.function, l.file])).toEqual([
      ['inspect', join(dir, 'functions', 'inspect.json')],
      ['zzz', join(dir, 'functions', 'zzz.json')],
    ]);
    expect(String(reported[0]!.reason)).toContain('not valid JSON');
    // Artifacts are kept while a damaged record may refer to them.
    expect(readdirSync(join(dir, 'blobs')).length).toBe(2);

    // Deploying the name again starts it afresh; the damaged record stays on disk for the operator.
    expect(await host.deploy('inspect', INSPECT)).toMatchObject({ version: 'v1', reused: true });
    expect((await callWithId(host, '/inspect/')).status).toBe(200);
    const aside = readdirSync(join(dir, 'functions')).filter((f) => f.startsWith('inspect.json.damaged-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dir, 'functions', aside[0]!), 'utf8')).toBe('{"name":"inspect","vers');
    // Removing the other damaged one sets it aside too.
    expect(await host.remove('zzz')).toBe(true);
    expect(readdirSync(join(dir, 'functions')).filter((f) => f.startsWith('zzz.json'))).toEqual([expect.stringMatching(/^zzz\.json\.damaged-/)]);
  });
});

describe('damaged artifacts', () => {
  it('answer 500 with a request id that the log explains, and a redeploy of the same bytes repairs them', async () => {
    const dir = tempDir();
    const first = await openLogged(dir);
    const hello = await first.host.deploy('hello', HELLO);
    await close(first.host);
    rmSync(join(dir, 'blobs', hello.digest, 'component.wasm'));

    const second = await openLogged(dir);
    const failed = await callWithId(second.host, '/hello/');
    expect(failed.status).toBe(500);
    expect(failed.requestId).toMatch(/\S/);
    expect(JSON.parse(failed.body)).toMatchObject({ error: { code: 'internal', requestId: failed.requestId } });
    const line = second.logs.find((l) => l.requestId === failed.requestId);
    expect(line).toMatchObject({ level: 'error', msg: 'function could not be loaded', function: 'hello' });
    expect(String(line!.detail)).toContain('component.wasm is missing');

    const repaired = await second.host.deploy('hello', HELLO);
    expect(repaired).toMatchObject({ digest: hello.digest, version: 'v2', reused: false });
    expect(second.logs.some((l) => l.msg === 'stored artifacts are damaged: building them again')).toBe(true);
    expect(existsSync(join(dir, 'blobs', hello.digest, 'component.wasm'))).toBe(true);
    await close(second.host);

    const third = await openLogged(dir);
    expect(await callWithId(third.host, '/hello/')).toMatchObject({ status: 200, body: 'Hello from Micron!\n' });
  });

  it('a truncated instrumented module is found at load and rebuilt by a redeploy, not refused as an invalid component', async () => {
    const dir = tempDir();
    const first = await openLogged(dir);
    const stream = await first.host.deploy('stream', STREAM);
    await close(first.host);
    const modules = readdirSync(join(dir, 'blobs', stream.digest)).filter((f) => /^module-\d+\.wasm$/.test(f));
    expect(modules.length).toBeGreaterThan(0);
    truncateSync(join(dir, 'blobs', stream.digest, modules[0]!), 50);

    const second = await openLogged(dir);
    const failed = await callWithId(second.host, '/stream/');
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body).error.code).toBe('internal');
    expect(String(second.logs.find((l) => l.requestId === failed.requestId)?.detail)).toContain(`${modules[0]} is damaged`);
    expect(await second.host.deploy('stream', STREAM)).toMatchObject({ reused: false });
    expect((await callWithId(second.host, '/stream/')).status).toBe(200);
  });
});

describe('stored artifacts', () => {
  it('are removed with the last function that uses them, and kept while another one does', async () => {
    const dir = tempDir();
    const { host } = await openLogged(dir);
    const a = await host.deploy('a', HELLO);
    await host.deploy('b', HELLO);
    const i = await host.deploy('i', INSPECT);
    expect(await host.remove('i')).toBe(true);
    expect(existsSync(join(dir, 'blobs', i.digest))).toBe(false);
    expect(await host.remove('a')).toBe(true);
    expect(existsSync(join(dir, 'blobs', a.digest))).toBe(true);
    expect((await callWithId(host, '/b/')).status).toBe(200);
    expect(await host.remove('b')).toBe(true);
    expect(readdirSync(join(dir, 'blobs'))).toEqual([]);
    // Deploying the same bytes afterwards stores them again.
    expect(await host.deploy('a', HELLO)).toMatchObject({ reused: false });
    expect((await callWithId(host, '/a/')).status).toBe(200);
  });

  it('of a deleted version are removed when no other version uses them', async () => {
    const dir = tempDir();
    const { host } = await openLogged(dir);
    const v1 = await host.deploy('f', INSPECT);
    await host.deploy('f', HELLO);
    const res = await host.adminFetch(new Request(`http://127.0.0.1/v1/functions/f/versions/${v1.version}`, { method: 'DELETE', headers: { authorization: 'Bearer test-token-0123456789' } }));
    expect(res.status).toBeLessThan(300);
    expect(existsSync(join(dir, 'blobs', v1.digest))).toBe(false);
    expect((await callWithId(host, '/f/')).body).toBe('Hello from Micron!\n');
  });
});
