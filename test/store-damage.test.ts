/**
 * What an operator meets when the data directory is damaged (a record file
 * edited by hand, an artifact deleted or truncated), and what freeing it
 * looks like: one bad record never stops the host, a redeploy of the same
 * bytes repairs damaged artifacts, a request to a function whose artifacts
 * are damaged is a logged 500 with a request id, and removing the last
 * function that uses a component frees its stored artifacts.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
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
  const dir = mkdtempSync(join(tmpdir(), 'micron-damage-'));
  temps.push(dir);
  return dir;
}

/** A host on `dataDir` whose log lines are kept, parsed. */
async function open(dataDir: string): Promise<{ host: Host; logs: Record<string, unknown>[] }> {
  const logs: Record<string, unknown>[] = [];
  const host = await createHost({ dataDir, adminToken: 'test-token-0123456789', log: (l) => logs.push(JSON.parse(l) as Record<string, unknown>) });
  hosts.add(host);
  return { host, logs };
}

async function close(host: Host): Promise<void> {
  hosts.delete(host);
  await host.close();
}

async function call(host: Host, path: string): Promise<{ status: number; body: string; requestId: string | null }> {
  const res = await host.fetch(new Request(`http://127.0.0.1${path}`));
  return { status: res.status, body: await res.text(), requestId: res.headers.get('x-micron-request-id') };
}

describe('a damaged function record', () => {
  it('is reported and skipped at start; the other functions are served, and a deploy keeps it aside', async () => {
    const dir = tempDir();
    const first = await open(dir);
    await first.host.deploy('hello', HELLO);
    await first.host.deploy('inspect', INSPECT);
    await close(first.host);
    writeFileSync(join(dir, 'functions', 'inspect.json'), '{"name":"inspect","vers');
    writeFileSync(join(dir, 'functions', 'zzz.json'), '{}');

    const { host, logs } = await open(dir);
    expect((await host.list()).map((f) => f.name)).toEqual(['hello']);
    expect((await call(host, '/hello/')).status).toBe(200);
    expect((await call(host, '/inspect/')).status).toBe(404);
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
    expect((await call(host, '/inspect/')).status).toBe(200);
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
    const first = await open(dir);
    const hello = await first.host.deploy('hello', HELLO);
    await close(first.host);
    rmSync(join(dir, 'blobs', hello.digest, 'component.wasm'));

    const second = await open(dir);
    const failed = await call(second.host, '/hello/');
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

    const third = await open(dir);
    expect(await call(third.host, '/hello/')).toMatchObject({ status: 200, body: 'Hello from Micron!\n' });
  });

  it('a truncated instrumented module is found at load and rebuilt by a redeploy, not refused as an invalid component', async () => {
    const dir = tempDir();
    const first = await open(dir);
    const stream = await first.host.deploy('stream', STREAM);
    await close(first.host);
    const modules = readdirSync(join(dir, 'blobs', stream.digest)).filter((f) => /^module-\d+\.wasm$/.test(f));
    expect(modules.length).toBeGreaterThan(0);
    truncateSync(join(dir, 'blobs', stream.digest, modules[0]!), 50);

    const second = await open(dir);
    const failed = await call(second.host, '/stream/');
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body).error.code).toBe('internal');
    expect(String(second.logs.find((l) => l.requestId === failed.requestId)?.detail)).toContain(`${modules[0]} is damaged`);
    expect(await second.host.deploy('stream', STREAM)).toMatchObject({ reused: false });
    expect((await call(second.host, '/stream/')).status).toBe(200);
  });
});

describe('stored artifacts', () => {
  it('are removed with the last function that uses them, and kept while another one does', async () => {
    const dir = tempDir();
    const { host } = await open(dir);
    const a = await host.deploy('a', HELLO);
    await host.deploy('b', HELLO);
    const i = await host.deploy('i', INSPECT);
    expect(await host.remove('i')).toBe(true);
    expect(existsSync(join(dir, 'blobs', i.digest))).toBe(false);
    expect(await host.remove('a')).toBe(true);
    expect(existsSync(join(dir, 'blobs', a.digest))).toBe(true);
    expect((await call(host, '/b/')).status).toBe(200);
    expect(await host.remove('b')).toBe(true);
    expect(readdirSync(join(dir, 'blobs'))).toEqual([]);
    // Deploying the same bytes afterwards stores them again.
    expect(await host.deploy('a', HELLO)).toMatchObject({ reused: false });
    expect((await call(host, '/a/')).status).toBe(200);
  });

  it('of a deleted version are removed when no other version uses them', async () => {
    const dir = tempDir();
    const { host } = await open(dir);
    const v1 = await host.deploy('f', INSPECT);
    await host.deploy('f', HELLO);
    const res = await host.adminFetch(new Request(`http://127.0.0.1/v1/functions/f/versions/${v1.version}`, { method: 'DELETE', headers: { authorization: 'Bearer test-token-0123456789' } }));
    expect(res.status).toBeLessThan(300);
    expect(existsSync(join(dir, 'blobs', v1.digest))).toBe(false);
    expect((await call(host, '/f/')).body).toBe('Hello from Micron!\n');
  });
});
