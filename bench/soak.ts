/**
 * Soak: a real `micron serve` child under mixed traffic at the host's maximum
 * rate for a bounded time, watching for unintended errors, memory growth and
 * latency drift.
 *
 * Traffic (`connections` keep-alive connections, back to back):
 * - hello (GET), echo (POST of 1 KiB, body checked), stream (five chunks over
 *   about 500 ms), trap (a guest that traps: 500 `guest_error` is intended);
 * - loop: a guest that never yields, with `deadlineMs: 20`, on one extra
 *   connection twice a second (each one holds the event loop for its whole
 *   deadline, so at full rate it would be the only thing measured): 504
 *   `deadline_exceeded` is intended.
 * 429 `too_many_requests` is intended for any function (admission control).
 * Everything else (another status, a wrong body, a connection error) is an
 * unintended error, and the run fails if there is one.
 *
 * Reported: requests and statuses per function, unintended errors with
 * samples, the server's RSS at start (after warm-up), middle and end, and
 * p50/p99 latency per time window.
 *
 * Run: `node --import ./host/loader/register.mjs bench/soak.ts` (SOAK_SECONDS, default 60;
 * SOAK_CONNECTIONS, default 32). Writes bench/results/latest-soak.md. A
 * shortened run is a test (test/soak.test.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildGuest, GUESTS } from '../test/guests.ts';
import { markdownTable, num } from './table.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN = 'soak-admin-token-0123';

/** Options of {@link runSoak}. */
export interface SoakOptions {
  /** Measured seconds (after warm-up). */
  durationS: number;
  /** Keep-alive connections of the mixed traffic. */
  connections: number;
  /** Seconds per latency window. */
  windowS: number;
  /** Warm-up seconds before measuring (traffic runs, nothing is recorded). */
  warmupS: number;
}

type Target = 'hello' | 'echo' | 'stream' | 'trap' | 'loop';

interface Window {
  startS: number;
  latencies: number[];
  unintended: number;
}

/** What a soak run found. */
export interface SoakReport {
  options: SoakOptions;
  /** Per function: status → count. */
  statuses: Record<Target, Record<string, number>>;
  unintended: number;
  samples: string[];
  rssMiB: { start: number; middle: number; end: number };
  /** Latency of hello, echo and trap per window. */
  windows: { startS: number; requests: number; rps: number; p50Ms: number; p99Ms: number; unintended: number }[];
  /** Latency of stream over the whole run (about 500 ms by design). */
  stream: { p50Ms: number; p99Ms: number };
  markdown: string;
}

const HELLO = 'Hello from Micron!\n';
const STREAM = 'chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n';
const ECHO_BODY = randomBytes(1024);

/** Weights of the mixed traffic (loop runs on its own connection). */
const MIX: [Target, number][] = [
  ['hello', 60],
  ['echo', 20],
  ['stream', 5],
  ['trap', 15],
];

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

interface Server {
  child: ChildProcess;
  pub: number;
  admin: number;
}

function startServer(dataDir: string): Promise<Server> {
  const env: NodeJS.ProcessEnv = { ...process.env, MICRON_ADMIN_TOKEN: TOKEN, MICRON_LOG_LEVEL: 'error' };
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'micron.js'), 'serve', '--port', '0', '--admin-port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--no-examples'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((ok, fail) => {
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (out.length < 100_000) out += d;
      const line = out.split('\n').find((l) => l.startsWith('{"msg":"listening"'));
      if (line) {
        const { public: pub, admin } = JSON.parse(line) as { public: number; admin: number };
        out = 'x'.repeat(100_000); // stop collecting
        ok({ child, pub, admin });
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (err.length < 100_000) err += d;
    });
    child.once('exit', (code, signal) => fail(new Error(`micron serve exited (${code ?? signal}):\n${err}`)));
  });
}

function send(agent: http.Agent, port: number, method: string, path: string, body?: Uint8Array, headers?: Record<string, string>): Promise<{ status: number; body: Buffer }> {
  return new Promise((ok, fail) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', fail);
      res.on('aborted', () => fail(new Error('response aborted')));
    });
    req.on('error', fail);
    req.end(body);
  });
}

async function deploy(admin: number, name: string, bytes: Uint8Array, config?: unknown): Promise<void> {
  const agent = new http.Agent();
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/wasm' };
  if (config) headers['x-micron-config'] = JSON.stringify(config);
  const r = await send(agent, admin, 'PUT', `/v1/functions/${name}`, bytes, headers);
  agent.destroy();
  if (r.status >= 300) throw new Error(`deploying ${name}: ${r.status} ${r.body.toString()}`);
}

/** Checks an answer: undefined when intended, else why not. */
function check(target: Target, status: number, body: Buffer): string | undefined {
  if (status === 429) return JSON.parse(body.toString()).error?.code === 'too_many_requests' ? undefined : `429 without too_many_requests`;
  const text = body.toString();
  switch (target) {
    case 'hello':
      return status === 200 && text === HELLO ? undefined : `hello: ${status} ${text.slice(0, 80)}`;
    case 'echo':
      return status === 200 && body.equals(ECHO_BODY) ? undefined : `echo: ${status}, ${body.length} bytes`;
    case 'stream':
      return status === 200 && text === STREAM ? undefined : `stream: ${status} ${JSON.stringify(text.slice(0, 80))}`;
    case 'trap':
      return status === 500 && text.includes('"guest_error"') ? undefined : `trap: ${status} ${text.slice(0, 80)}`;
    case 'loop':
      return status === 504 && text.includes('"deadline_exceeded"') ? undefined : `loop: ${status} ${text.slice(0, 80)}`;
  }
}

/** Runs a soak against a fresh `micron serve` child; never leaves the child running. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const dataDir = mkdtempSync(join(tmpdir(), 'micron-soak-'));
  let server: Server | undefined;
  try {
    server = await startServer(dataDir);
    const fixture = (n: string) => new Uint8Array(readFileSync(join(ROOT, 'components', n, `${n}.wasm`)));
    for (const n of ['hello', 'echo', 'stream', 'trap']) await deploy(server.admin, n, fixture(n));
    await deploy(server.admin, 'loop', await buildGuest(GUESTS.spin.body), { limits: { deadlineMs: 20 } });

    const statuses = Object.fromEntries(['hello', 'echo', 'stream', 'trap', 'loop'].map((t) => [t, {}])) as SoakReport['statuses'];
    const samples: string[] = [];
    const windows: Window[] = [];
    let unintended = 0;
    let recording = false;
    let stop = false;
    let t0 = 0;
    const port = server.pub;
    const pid = server.child.pid!;
    const rss: { t: number; mib: number }[] = [];
    const streamLatencies: number[] = [];

    const record = (target: Target, ms: number, problem: string | undefined, status: string): void => {
      if (!recording) return;
      const s = statuses[target];
      s[status] = (s[status] ?? 0) + 1;
      const w = Math.floor((performance.now() - t0) / 1000 / options.windowS);
      windows[w] ??= { startS: w * options.windowS, latencies: [], unintended: 0 };
      if (problem) {
        unintended++;
        windows[w].unintended++;
        if (samples.length < 20) samples.push(problem);
      } else if (target === 'stream') {
        streamLatencies.push(ms);
      } else if (target !== 'loop') {
        windows[w].latencies.push(ms);
      }
    };

    const one = async (agent: http.Agent, target: Target): Promise<void> => {
      const t = performance.now();
      try {
        const r =
          target === 'echo'
            ? await send(agent, port, 'POST', '/echo/', ECHO_BODY, { 'content-type': 'application/octet-stream' })
            : await send(agent, port, 'GET', `/${target}/`);
        record(target, performance.now() - t, check(target, r.status, r.body), String(r.status));
      } catch (e) {
        record(target, performance.now() - t, `${target}: ${(e as Error).message}`, 'error');
      }
    };

    const total = MIX.reduce((n, [, w]) => n + w, 0);
    const pick = (): Target => {
      let x = Math.random() * total;
      for (const [t, w] of MIX) if ((x -= w) < 0) return t;
      return 'hello';
    };
    const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
    const loopAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const workers = Array.from({ length: options.connections }, async () => {
      while (!stop) await one(agent, pick());
    });
    const looper = (async () => {
      while (!stop) {
        await one(loopAgent, 'loop');
        await new Promise((r) => setTimeout(r, 500));
      }
    })();

    await new Promise((r) => setTimeout(r, options.warmupS * 1000));
    t0 = performance.now();
    recording = true;
    rss.push({ t: 0, mib: rssMiB(pid) });
    const sampler = setInterval(() => rss.push({ t: (performance.now() - t0) / 1000, mib: rssMiB(pid) }), 1000);
    await new Promise((r) => setTimeout(r, options.durationS * 1000));
    recording = false;
    clearInterval(sampler);
    rss.push({ t: options.durationS, mib: rssMiB(pid) });
    stop = true;
    await Promise.all([...workers, looper]);
    agent.destroy();
    loopAgent.destroy();

    const nearest = (t: number) => rss.reduce((a, b) => (Math.abs(b.t - t) < Math.abs(a.t - t) ? b : a)).mib;
    const rssMiBs = { start: rss[0]!.mib, middle: nearest(options.durationS / 2), end: rss[rss.length - 1]!.mib };
    const rows = windows
      .filter((w) => w && w.startS < options.durationS)
      .map((w) => {
        const sorted = w.latencies.sort((a, b) => a - b);
        return { startS: w.startS, requests: sorted.length, rps: sorted.length / options.windowS, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), unintended: w.unintended };
      });
    streamLatencies.sort((a, b) => a - b);
    const stream = { p50Ms: percentile(streamLatencies, 0.5), p99Ms: percentile(streamLatencies, 0.99) };
    const report: SoakReport = { options, statuses, unintended, samples, rssMiB: rssMiBs, windows: rows, stream, markdown: '' };
    report.markdown = render(report);
    return report;
  } finally {
    server?.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function render(r: SoakReport): string {
  const o = r.options;
  const statusTable = markdownTable(
    ['function', 'requests', 'answers (status: count)'],
    (Object.entries(r.statuses) as [Target, Record<string, number>][]).map(([t, s]) => [
      t,
      String(Object.values(s).reduce((a, b) => a + b, 0)),
      Object.entries(s)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', '),
    ]),
  );
  const windowTable = markdownTable(
    ['window (s)', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'unintended'],
    r.windows.map((w) => [`${w.startS}–${w.startS + o.windowS}`, String(w.requests), num(w.rps, 0), num(w.p50Ms, 2), num(w.p99Ms, 2), String(w.unintended)]),
  );
  const growth = ((r.rssMiB.end - r.rssMiB.start) / r.rssMiB.start) * 100;
  return [
    `# Soak: ${o.durationS} s of mixed traffic`,
    '',
    `- date: ${new Date().toISOString()}`,
    `- machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    `- node: ${process.version}`,
    `- traffic: ${o.connections} keep-alive connections back to back (hello 60 %, echo 1 KiB 20 %, stream 5 %, trap 15 %), plus loop (deadline 20 ms) twice a second on its own connection; ${o.warmupS} s warm-up not recorded`,
    '',
    `**Unintended errors: ${r.unintended}**${r.samples.length ? ` (samples: ${r.samples.map((s) => `\`${s}\``).join(', ')})` : ''}`,
    '',
    `**Server RSS**: ${num(r.rssMiB.start, 1)} MiB at start, ${num(r.rssMiB.middle, 1)} MiB in the middle, ${num(r.rssMiB.end, 1)} MiB at the end (${growth >= 0 ? '+' : ''}${num(growth, 1)} % start → end).`,
    '',
    statusTable,
    '',
    `Latency per ${o.windowS} s window of hello, echo and trap (intended answers; stream, which sleeps about 500 ms by design, had p50 ${num(r.stream.p50Ms, 1)} ms and p99 ${num(r.stream.p99Ms, 1)} ms over the run; loop is stopped at its 20 ms deadline and holds the event loop meanwhile, which shows in p99):`,
    '',
    windowTable,
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const durationS = Number(process.env.SOAK_SECONDS ?? 60);
  const report = await runSoak({ durationS, connections: Number(process.env.SOAK_CONNECTIONS ?? 32), windowS: durationS >= 30 ? 5 : 1, warmupS: 3 });
  process.stdout.write(report.markdown);
  const out = join(ROOT, 'bench', 'results');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'latest-soak.md'), report.markdown);
  process.exit(report.unintended === 0 ? 0 : 1);
}
