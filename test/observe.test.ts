/**
 * Invocation records, guest logs, the live tail and metrics, with real
 * components: what a record says about an invocation (timings that add up,
 * the cold flag, sizes, billed time, guest output), how the logs API pages
 * and bounds them, the server-sent-event tail over real HTTP, `micron logs`,
 * the Prometheus output, and a host with all of it turned off.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHost, type Host } from '../host/index.js';
import type { InvocationRecord } from '../host/observe/invocation-record.js';
import { admin, fixture, tempHost } from './helpers.js';

const copies: string[] = [];
afterAll(() => {
  for (const d of copies.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A copy of the data dir `src` for a second host (a data dir serves one host at a time); removed after the file's tests. */
function copyOfDataDir(src: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'micron-observe-copy-'));
  copies.push(copy);
  cpSync(src, copy, { recursive: true });
  rmSync(join(copy, 'lock'), { force: true });
  return copy;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HELLO_BODY = 'Hello from Micron!\n';

let host: Host;
let dir: string;
let cleanup: () => Promise<void>;
let lines: string[] = [];

beforeAll(async () => {
  ({ host, dir, cleanup } = await tempHost({ log: (l) => lines.push(l), observe: { recordsPerFunction: 5 } }));
  for (const name of ['hello', 'echo', 'inspect', 'trap', 'no-response']) await host.deploy(name, fixture(name));
}, 120_000);

afterAll(async () => {
  await cleanup();
});

type Rec = InvocationRecord;

/** Calls a function and waits until the guest is done (its record exists). */
async function invoke(h: Host, path: string, init?: RequestInit): Promise<{ res: Response; body: string; record: Rec }> {
  const res = await h.fetch(new Request(`http://localhost${path}`, init));
  const body = await res.text();
  const id = res.headers.get('x-micron-request-id');
  const name = path.split('/')[1]!;
  for (;;) {
    const record = h.records(name, { limit: 1000 }).find((r) => r.requestId === id);
    if (record) return { res, body, record: record as unknown as Rec };
    await new Promise((r) => setImmediate(r));
  }
}

async function logsApi(query: string): Promise<{ status: number; json: { records: Rec[]; cursor: number; error?: { code: string } } }> {
  const res = await host.adminFetch(admin(`/v1/functions/${query}`));
  return { status: res.status, json: (await res.json()) as { records: Rec[]; cursor: number } };
}

describe('invocation records', () => {
  it('records status, version, sizes and timings that add up', async () => {
    const payload = 'x'.repeat(1000);
    const { record } = await invoke(host, '/echo/', { method: 'POST', body: payload });
    expect(record).toMatchObject({ function: 'echo', version: 'v1', status: 200, outcome: 'ok', bytesIn: 1000, bytesOut: 1000, cold: false, logs: [] });
    expect(record.requestId).toMatch(/^[0-9a-f]{14}$/);
    expect(record.totalUs).toBeGreaterThan(0);
    expect(record.instantiateUs).toBeGreaterThanOrEqual(0);
    expect(record.guestUs).toBeGreaterThan(0);
    expect(record.instantiateUs + record.guestUs).toBeLessThanOrEqual(record.totalUs);
    expect(record.memoryPages).toBeGreaterThan(0);
  });

  it('bills memory × duration at 1 ms granularity', async () => {
    const { record } = await invoke(host, '/hello/');
    const ms = Math.max(1, Math.ceil(record.totalUs / 1000));
    expect(record.billedGbS).toBeCloseTo(((record.memoryPages * 65536) / 2 ** 30) * (ms / 1000), 15);
  });

  it('bills a command (Go, CGI contract) guest by its memory too', async () => {
    await host.deploy('go-hello', fixture('go-hello'));
    const { res, record } = await invoke(host, '/go-hello/');
    expect(res.status).toBe(200);
    expect(record.memoryPages).toBeGreaterThan(0);
    expect(record.billedGbS).toBeGreaterThan(0);
  });

  it('attaches the guest stdout and stderr lines to the record of the request', async () => {
    const { res, record } = await invoke(host, '/inspect/');
    expect(record.requestId).toBe(res.headers.get('x-micron-request-id'));
    expect(record.logs).toEqual([
      { stream: 'stdout', line: 'inspect stdout' },
      { stream: 'stderr', line: 'inspect stderr' },
    ]);
  });

  it('records a trap and a missing response as 500 with the detail (the client sees only the request id)', async () => {
    const trap = await invoke(host, '/trap/');
    expect(trap.body).not.toContain('unreachable');
    expect(trap.record).toMatchObject({ status: 500, outcome: 'trap' });
    expect(trap.record.detail).toContain('unreachable');
    expect((await invoke(host, '/no-response/')).record).toMatchObject({ status: 500, outcome: 'no-response' });
  });

  it('flags the first request of a version that had to be compiled as cold, and only that one', async () => {
    // A second host on a copy of the data dir: nothing compiled yet.
    const second = await createHost({ dataDir: copyOfDataDir(dir), adminToken: 'test-token-0123456789', log: false });
    try {
      const first = await invoke(second, '/hello/');
      const next = await invoke(second, '/hello/');
      expect([first.body, first.record.cold]).toEqual([HELLO_BODY, true]);
      expect(next.record.cold).toBe(false);
      // The cold request waited for the load: it is in its total (and not billed); a cached one has none.
      expect(first.record.loadUs).toBeGreaterThan(0);
      expect(first.record.totalUs).toBeGreaterThanOrEqual(first.record.loadUs);
      expect(next.record.loadUs).toBe(0);
    } finally {
      await second.close();
    }
  });

  it('writes one JSON host log line per invocation at info level, with the record', async () => {
    lines = [];
    const { record } = await invoke(host, '/inspect/');
    const mine = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.requestId === record.requestId);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ level: 'info', msg: 'invocation', function: 'inspect', status: 200, totalUs: record.totalUs, logs: record.logs });
    expect(Date.parse(String(mine[0]!.time))).not.toBeNaN();
    lines = [];
    const failed = await invoke(host, '/trap/');
    const warn = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.requestId === failed.record.requestId);
    expect(warn).toMatchObject({ level: 'warn', msg: 'invocation failed', outcome: 'trap' });
  });

  it('honours MICRON_LOG_LEVEL: at warn, successful invocations write no line', async () => {
    const saved = process.env.MICRON_LOG_LEVEL;
    process.env.MICRON_LOG_LEVEL = 'warn';
    const quiet: string[] = [];
    const h = await createHost({ dataDir: copyOfDataDir(dir), adminToken: 'test-token-0123456789', log: (l) => quiet.push(l) });
    try {
      const ok = await invoke(h, '/hello/');
      const bad = await invoke(h, '/trap/');
      const ids = quiet.map((l) => (JSON.parse(l) as { requestId?: string }).requestId);
      expect(ids).not.toContain(ok.record.requestId);
      expect(ids).toContain(bad.record.requestId);
    } finally {
      await h.close();
      if (saved === undefined) delete process.env.MICRON_LOG_LEVEL;
      else process.env.MICRON_LOG_LEVEL = saved;
    }
  });
});

describe('the logs API', () => {
  it('keeps a bounded number of records per function (recordsPerFunction)', async () => {
    for (let i = 0; i < 12; i++) await invoke(host, '/hello/');
    const all = await logsApi('hello/logs?limit=100');
    expect(all.status).toBe(200);
    expect(all.json.records).toHaveLength(5);
    const seqs = all.json.records.map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(all.json.cursor).toBe(seqs.at(-1));
  });

  it('pages with a cursor and a limit, and filters by time', async () => {
    const { json } = await logsApi('hello/logs');
    const [a, b] = json.records;
    const page = await logsApi(`hello/logs?since=${a!.seq}&limit=2`);
    expect(page.json.records.map((r) => r.seq)).toEqual([a!.seq + 1, a!.seq + 2]);
    expect(page.json.cursor).toBe(a!.seq + 2);
    const empty = await logsApi(`hello/logs?since=${json.cursor}`);
    expect(empty.json).toEqual({ name: 'hello', records: [], cursor: json.cursor });
    const byTime = await logsApi(`hello/logs?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(byTime.json.records).toEqual([]);
    expect(b).toBeDefined();
  });

  it('answers bad queries with bad_request and unknown functions with function_not_found', async () => {
    for (const q of ['limit=0', 'limit=x', 'since=yesterday']) {
      const r = await logsApi(`hello/logs?${q}`);
      expect([r.status, r.json.error?.code], q).toEqual([400, 'bad_request']);
    }
    const missing = await logsApi('nope/logs');
    expect([missing.status, missing.json.error?.code]).toEqual([404, 'function_not_found']);
    const noToken = await host.adminFetch(admin('/v1/functions/hello/logs', { token: null }));
    expect(noToken.status).toBe(401);
  });

  it('forgets a removed function’s records', async () => {
    await host.deploy('short-lived', fixture('hello'));
    await invoke(host, '/short-lived/');
    await host.remove('short-lived');
    expect(host.records('short-lived')).toEqual([]);
  });
});

describe('the live tail (server-sent events) over real HTTP', () => {
  let base: string;
  beforeAll(async () => {
    const { admin: a } = await host.listen({ port: 0, host: '127.0.0.1', adminPort: 0 });
    base = `http://127.0.0.1:${(a as AddressInfo).port}`;
  });

  /** Reads SSE events from `path` until `want` invocation events arrived. */
  async function events(path: string, want: number, whileOpen: () => Promise<void>, headers: Record<string, string> = {}): Promise<{ id: string; data: Rec }[]> {
    const ac = new AbortController();
    const res = await fetch(`${base}${path}`, { headers: { authorization: 'Bearer test-token-0123456789', ...headers }, signal: ac.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    const out: { id: string; data: Rec }[] = [];
    let buf = '';
    let started = false;
    while (out.length < want) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let end: number;
      while ((end = buf.indexOf('\n\n')) !== -1) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
        if (fields.event === 'invocation') out.push({ id: fields.id!, data: JSON.parse(fields.data!) as Rec });
      }
      // The stream is open (its first comment arrived): now cause the invocations.
      if (!started) {
        started = true;
        void whileOpen();
      }
    }
    ac.abort();
    return out;
  }

  it('streams each new record as it happens, with its guest output', async () => {
    const ids: string[] = [];
    const got = await events('/v1/functions/inspect/logs/stream?since=999999', 3, async () => {
      for (let i = 0; i < 3; i++) ids.push((await invoke(host, '/inspect/')).record.requestId);
    });
    expect(got.map((e) => e.data.requestId)).toEqual(ids);
    expect(got.map((e) => e.id)).toEqual(got.map((e) => String(e.data.seq)));
    expect(got[0]!.data.logs).toContainEqual({ stream: 'stdout', line: 'inspect stdout' });
  });

  it('replays what was missed after Last-Event-ID, and serves ?follow=1 on the logs route too', async () => {
    const before = (await logsApi('hello/logs?limit=1')).json.cursor;
    await invoke(host, '/hello/');
    await invoke(host, '/hello/');
    const replay = await events('/v1/functions/hello/logs/stream', 2, async () => undefined, { 'last-event-id': String(before) });
    expect(replay.map((e) => e.data.seq)).toEqual([before + 1, before + 2]);
    const follow = await events(`/v1/functions/hello/logs?follow=1&since=${before + 2}`, 1, async () => void (await invoke(host, '/hello/')));
    expect(follow.map((e) => e.data.seq)).toEqual([before + 3]);
  });

  it('is what `micron logs` prints, once and with --follow', async () => {
    const { record } = await invoke(host, '/inspect/');
    const cli = (args: string[]) =>
      spawn(process.execPath, [join(ROOT, 'bin', 'micron.js'), ...args, '--url', base, '--token', 'test-token-0123456789'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const once = cli(['logs', 'inspect', '--limit', '1']);
    let out = '';
    once.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => once.on('close', r));
    expect(code).toBe(0);
    expect(out).toContain(record.requestId);
    expect(out).toContain('  stdout| inspect stdout\n');

    // --since replays what came after the cursor, so the invocation shows up even if it ran before the CLI connected.
    const follower = cli(['logs', 'inspect', '--follow', '--since', String(record.seq), '--json']);
    let live = '';
    follower.stdout.on('data', (d: Buffer) => (live += d.toString()));
    const id = (await invoke(host, '/inspect/')).record.requestId;
    try {
      while (!live.includes(id)) {
        expect(follower.exitCode).toBeNull();
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      follower.kill('SIGTERM');
    }
    const line = live.split('\n').find((l) => l.includes(id))!;
    expect(JSON.parse(line)).toMatchObject({ requestId: id, function: 'inspect', status: 200 });
  });
});

describe('metrics', () => {
  it('exposes Prometheus text behind the admin token', async () => {
    expect((await host.adminFetch(admin('/metrics', { token: null }))).status).toBe(401);
    const res = await host.adminFetch(admin('/metrics'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const value = (series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1));
    expect(value('micron_requests_total{function="hello",class="2xx"}')).toBeGreaterThan(10);
    expect(value('micron_requests_total{function="trap",class="5xx"}')).toBeGreaterThanOrEqual(1);
    expect(value('micron_request_duration_seconds_count{function="hello"}')).toBe(value('micron_requests_total{function="hello",class="2xx"}'));
    expect(value('micron_instantiate_duration_seconds_count{function="hello"}')).toBeGreaterThan(0);
    expect(value('micron_inflight_requests{function="hello"}')).toBe(0);
    expect(value('micron_functions')).toBe((await host.list()).length);
    expect(value('micron_module_cache_bytes')).toBe(host.cacheStats().bytes);
    expect(value('micron_module_cache_misses_total')).toBeGreaterThanOrEqual(0);
    expect(text).toContain('# TYPE micron_request_duration_seconds histogram');
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('counts cold starts', async () => {
    const h = await createHost({ dataDir: copyOfDataDir(dir), adminToken: 'test-token-0123456789', log: false });
    try {
      await invoke(h, '/hello/');
      await invoke(h, '/hello/');
      const text = await (await h.adminFetch(admin('/metrics'))).text();
      expect(text).toContain('micron_cold_starts_total{function="hello"} 1\n');
    } finally {
      await h.close();
    }
  });
});

describe('a host with observe: false', () => {
  it('serves functions with no records, no metrics and no per-invocation line, but still logs failures', async () => {
    const quiet: string[] = [];
    const off = await tempHost({ observe: false, log: (l) => quiet.push(l) });
    try {
      await off.host.deploy('hello', fixture('hello'));
      await off.host.deploy('trap', fixture('trap'));
      expect(await (await off.host.fetch(new Request('http://localhost/hello/'))).text()).toBe(HELLO_BODY);
      const trap = await off.host.fetch(new Request('http://localhost/trap/'));
      const id = trap.headers.get('x-micron-request-id');
      while (!quiet.some((l) => l.includes(id!))) await new Promise((r) => setImmediate(r));
      expect(quiet.filter((l) => l.includes('"msg":"invocation"'))).toEqual([]);
      expect(off.host.records('hello')).toEqual([]);
      expect((await off.host.adminFetch(admin('/metrics'))).status).toBe(404);
      expect((await off.host.adminFetch(admin('/v1/functions/hello/logs'))).status).toBe(404);
    } finally {
      await off.cleanup();
    }
  });
});
