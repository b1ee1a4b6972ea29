/**
 * HTTP load over loopback with autocannon (programmatic API): each target
 * server runs alone, in its own process group, pinned to CPU 0 with
 * `taskset` when it exists; autocannon runs in this process, pinned to CPU 1
 * for the duration. Targets, all answering `Hello from Micron!\n`:
 *
 * 1. bare Hono on @hono/node-server (the baseline; bench/hono-server.ts);
 * 2. `micron serve` with components/hello deployed through the admin API, loaded at `/hello/`;
 * 3. `jco serve components/hello/hello.wasm --isolate-requests instance` (a fresh instance per request).
 *
 * Then calibration targets: a second bare Hono (how far two identical
 * servers differ in this run), and bare Hono whose handler first spins a pure-CPU loop of N µs,
 * timed in the handler (`BENCH_SPIN_US`, default `5,10,20`; 5 alone when
 * quick). They show what a handler of N µs gets over HTTP here,
 * whatever its work, and how much server CPU each µs of handler work costs
 * under load: the yardstick for Micron's in-process handler cost
 * (instantiate bench (e)).
 *
 * Every response body is checked (`mismatches`); non-2xx, errors, timeouts
 * and mismatches must all be 0. Requests per server CPU-second (the server's
 * process group, from /proc) is reported beside req/s: on a busy shared
 * machine it moves much less than req/s. Run alone: `node --import ./host/loader/register.mjs bench/http.ts`
 * (BENCH_DURATION=seconds, BENCH_QUICK=1, BENCH_SPIN_US=µs,µs,…).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import { cleanupNow, cleanupOnSignals, signalGroup, trackDir, trackGroup } from './cleanup.ts';
import type { SpinStats } from './hono-server.ts';
import type { HandlerStats } from './micron-timed-server.ts';
import { describeMeans, type RecordMeans } from './record-means.ts';
import { markdownTable, num, ratio } from './table.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HELLO = join(ROOT, 'components/hello/hello.wasm');
const EXPECTED_BODY = 'Hello from Micron!\n';
/** How long a server may take to print its ready line (jco serve transpiles first). */
const READY_TIMEOUT_MS = 120_000;
/** Bound on the single requests around a run (deploy, probe). */
const FETCH_TIMEOUT_MS = 30_000;

/** Options of {@link runHttpBench}. */
export interface HttpOptions {
  /** Measured seconds per target. */
  durationS: number;
  /** Seconds of unmeasured load before each measurement. */
  warmupS: number;
  connections: number;
  /**
   * Measured rounds: the targets are measured in turn, `rounds` times over,
   * `durationS / rounds` each time, and each row is the target's best round.
   * Default {@link roundsFromEnv}.
   */
  rounds?: number;
}

/** One target's figures. */
export interface HttpRow {
  name: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  /** CPU the server's process group used, in cores (1 = one core busy); undefined without /proc. */
  serverCores: number | undefined;
  /** CPU this process (autocannon) used, in cores. */
  clientCores: number;
  /** Calibration targets: the loop's requested time per request, µs. */
  spinTargetUs?: number;
  /** Calibration targets: the loop's time per request over the measured run, timed in the handler, µs. */
  spinUs?: number;
  /** Calibration targets: the loop's iteration count at the end of the run over the one calibrated at start, outside the handler. */
  spinSpeed?: number;
  /** Micron with its handler timed: µs per call of the public app over the measured run, timed in the server. */
  handlerUs?: number;
  /** Micron with its handler timed: its invocation records' timings at the end of the run. */
  records?: RecordMeans;
  /** req/s of each measured round, in order; the row's own figures are those of the best round. */
  rpsRounds: number[];
}

/** The bench's rows, its markdown section and the count of failed requests. */
export interface HttpReport {
  rows: HttpRow[];
  markdown: string;
  /** non-2xx + errors + timeouts + body mismatches, over all targets. */
  failures: number;
}

/** A server child in its own process group, with its output kept for error messages. */
class ServerProcess {
  readonly exited: Promise<void>;
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  /** Why the process is gone, once it is. */
  private gone: string | undefined;
  private readonly waiters = new Set<{ re: RegExp; resolve: (m: RegExpMatchArray) => void; reject: (e: Error) => void }>();

  constructor(
    readonly name: string,
    command: string[],
    env: NodeJS.ProcessEnv = {},
  ) {
    const [file, ...args] = pinned(0, command);
    this.child = spawn(file!, args, { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    trackGroup(this.child);
    for (const s of [this.child.stdout!, this.child.stderr!]) createInterface({ input: s }).on('line', (l) => this.onLine(l));
    this.exited = new Promise((done) => {
      const gone = (why: string): void => {
        this.gone ??= why;
        for (const w of this.waiters) w.reject(new Error(`${name} ${why} before it was ready:\n${this.tail()}`));
        this.waiters.clear();
        done();
      };
      this.child.once('exit', (code, signal) => gone(`exited (${signal ?? code})`));
      this.child.once('error', (e) => gone(`failed to start (${e.message})`));
    });
  }

  /** Resolves with the first output line matching `re`. */
  waitFor(re: RegExp): Promise<RegExpMatchArray> {
    for (const l of this.lines) {
      const m = re.exec(l);
      if (m) return Promise.resolve(m);
    }
    if (this.gone) return Promise.reject(new Error(`${this.name} ${this.gone} before it was ready:\n${this.tail()}`));
    return new Promise((resolve, reject) => {
      const w = { re, resolve, reject };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`${this.name} printed no ${re} within ${READY_TIMEOUT_MS} ms:\n${this.tail()}`));
      }, READY_TIMEOUT_MS);
      w.resolve = (m) => (clearTimeout(timer), resolve(m));
      w.reject = (e) => (clearTimeout(timer), reject(e));
      this.waiters.add(w);
    });
  }

  /** CPU seconds used so far by every live process in the group (Linux /proc), or undefined. */
  cpuSeconds(): number | undefined {
    return this.child.pid === undefined ? undefined : groupCpuSeconds(this.child.pid);
  }

  /** SIGTERM to the group, SIGKILL after 5 s, then SIGKILL whatever is left of the group. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      signalGroup(this.child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(this.child, 'SIGKILL'), 5000);
      await this.exited;
      clearTimeout(timer);
    }
    signalGroup(this.child, 'SIGKILL');
    trackGroup(this.child, false);
  }

  private onLine(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 40) this.lines.shift();
    for (const w of this.waiters) {
      const m = w.re.exec(line);
      if (m) {
        this.waiters.delete(w);
        w.resolve(m);
      }
    }
  }

  private tail(): string {
    return this.lines.map((l) => `  | ${l}`).join('\n');
  }
}

const HAS_TASKSET = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
const CAN_PIN = HAS_TASKSET && cpus().length >= 2;
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** `command` prefixed with `taskset -c <cpu>` when pinning is possible. */
function pinned(cpu: number, command: string[]): string[] {
  return CAN_PIN ? ['taskset', '-c', String(cpu), ...command] : command;
}

/** Pins every thread of this process to `cpu`; returns the function that restores the previous mask. */
function pinSelf(cpu: number): () => void {
  if (!CAN_PIN) return () => undefined;
  const pid = String(process.pid);
  const mask = /:\s*([0-9a-f,]+)\s*$/i.exec(execFileSync('taskset', ['-p', pid], { encoding: 'utf8' }))?.[1];
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), pid], { stdio: 'ignore' });
  return () => {
    if (mask) execFileSync('taskset', ['-a', '-p', mask, pid], { stdio: 'ignore' });
  };
}

/** utime + stime of every process whose process group is `pgid`, in seconds. */
function groupCpuSeconds(pgid: number): number | undefined {
  let ticks = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after "pid (comm) ": state ppid pgrp … utime(14) stime(15), numbered from 1.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / CLK_TCK;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok, fail) => srv.once('error', fail).listen(0, '127.0.0.1', ok));
  const { port } = srv.address() as AddressInfo;
  await new Promise((ok) => srv.close(ok));
  return port;
}

/** A started target: its server and the URL to load. */
export interface Started {
  server: ServerProcess;
  url: string;
  /** Where the server answers what it measures itself (calibration servers). */
  statsUrl?: string;
}

/** A server to load: how to start it, and the body every response must have. */
export interface Target {
  name: string;
  /** Every response's expected body; default `Hello from Micron!\n` (components/hello). */
  expectedBody?: string;
  start(tmp: string): Promise<Started>;
  /**
   * Reads what the server measures itself, just before the measured load;
   * the function it resolves to reads it again after the load and gives the
   * row's own fields for that interval.
   */
  watch?(started: Started): Promise<() => Promise<Partial<HttpRow>>>;
}

const LISTENING = /^\{"msg":"listening".*\}$/;
const node = (args: string[]): string[] => [process.execPath, ...args];

/**
 * `micron serve` (its own process group, fresh data dir, no examples) with
 * one component deployed through the admin API as `fn`, loaded at `/<fn>/`.
 */
export function micronTarget(name: string, component: { file: string; fn: string; expectedBody: string }): Target {
  return {
    name,
    expectedBody: component.expectedBody,
    async start(tmp) {
      const token = randomBytes(16).toString('hex');
      const dataDir = join(tmp, `micron-${component.fn}-${randomBytes(4).toString('hex')}`);
      const args = ['serve', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--data-dir', dataDir, '--no-examples'];
      const server = new ServerProcess('micron', node([join(ROOT, 'bin/micron.js'), ...args]), { MICRON_ADMIN_TOKEN: token });
      try {
        const ready = JSON.parse((await server.waitFor(LISTENING))[0]) as { public: number; admin: number };
        const res = await fetch(`http://127.0.0.1:${ready.admin}/v1/functions/${component.fn}`, {
          method: 'PUT',
          signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/wasm' },
          body: readFileSync(component.file),
        });
        if (!res.ok) throw new Error(`deploying ${component.fn} to micron answered ${res.status}: ${await res.text()}`);
        return { server, url: `http://127.0.0.1:${ready.public}/${component.fn}/` };
      } catch (e) {
        await server.stop();
        throw e;
      }
    },
  };
}

/** bench/hono-server.ts, plain or (with `spinUs`) spinning that long per request before it answers. */
function honoTarget(spinUs?: number): Target {
  return {
    name: spinUs === undefined ? 'Hono (@hono/node-server)' : `Hono + ${spinUs} µs busy loop (calibration)`,
    async start() {
      const env = spinUs === undefined ? {} : { BENCH_SPIN_US: String(spinUs) };
      const server = new ServerProcess('hono', node(['--import', join(ROOT, 'host/loader/register.mjs'), join(ROOT, 'bench/hono-server.ts')]), env);
      const ready = JSON.parse((await server.waitFor(LISTENING))[0]) as { public: number; stats?: number };
      return { server, url: `http://127.0.0.1:${ready.public}/`, ...(ready.stats === undefined ? {} : { statsUrl: `http://127.0.0.1:${ready.stats}/` }) };
    },
    ...(spinUs === undefined ? {} : { watch: watchSpin }),
  };
}

/** What a server that measures itself answers on its stats port ({@link SpinStats}, {@link HandlerStats}). */
async function serverStats<T>(started: Started): Promise<T> {
  if (started.statsUrl === undefined) throw new Error(`${started.server.name} printed no stats port`);
  const res = await fetch(started.statsUrl, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`${started.server.name} stats answered ${res.status}`);
  return (await res.json()) as T;
}

/** The loop's time per request over the measured run (warm-up excluded), from the server's totals before and after. */
async function watchSpin(started: Started): Promise<() => Promise<Partial<HttpRow>>> {
  const before = await serverStats<SpinStats>(started);
  return async () => {
    const after = await serverStats<SpinStats>(started);
    const requests = after.requests - before.requests;
    return {
      spinTargetUs: after.targetUs,
      spinUs: requests > 0 ? (after.spunUs - before.spunUs) / requests : undefined,
      spinSpeed: after.iterations / after.idleIterations,
    };
  };
}

/**
 * Micron embedded in a node:http server with its handler timed
 * (bench/micron-timed-server.ts): Micron's own µs per request under this
 * load, to set beside its in-process cost and the loops.
 */
function micronTimedTarget(): Target {
  return {
    name: 'Micron, handler timed (createHost in node:http, hello)',
    async start(tmp) {
      const dataDir = join(tmp, `micron-timed-${randomBytes(4).toString('hex')}`);
      const server = new ServerProcess('micron (timed)', node(['--import', join(ROOT, 'host/loader/register.mjs'), join(ROOT, 'bench/micron-timed-server.ts')]), {
        BENCH_DATA_DIR: dataDir,
      });
      const ready = JSON.parse((await server.waitFor(LISTENING))[0]) as { public: number; stats: number };
      return { server, url: `http://127.0.0.1:${ready.public}/hello/`, statsUrl: `http://127.0.0.1:${ready.stats}/` };
    },
    async watch(started) {
      const before = await serverStats<HandlerStats>(started);
      return async () => {
        const after = await serverStats<HandlerStats>(started);
        const requests = after.requests - before.requests;
        return { handlerUs: requests > 0 ? (after.handlerUs - before.handlerUs) / requests : undefined, ...(after.records ? { records: after.records } : {}) };
      };
    },
  };
}

/**
 * The calibration targets: bare Hono again (the loops' baseline, next to
 * them in time; its gap to the first is the run's noise), then the loops,
 * µs per request: `BENCH_SPIN_US` (comma-separated) or the defaults, and
 * last Micron with its handler timed.
 */
function calibrationTargets(quick: boolean): Target[] {
  const list = process.env.BENCH_SPIN_US ?? (quick ? '5' : '5,10,20');
  const values = list
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
    .map(Number);
  if (values.some((v) => !(v > 0 && v <= 10_000))) throw new Error(`BENCH_SPIN_US must list µs between 0 and 10000, got ${JSON.stringify(list)}`);
  return [{ ...honoTarget(), name: 'Hono again (calibration baseline, noise check)' }, ...values.map((v) => honoTarget(v)), micronTimedTarget()];
}

const TARGETS: Target[] = [
  honoTarget(),
  micronTarget('Micron (micron serve)', { file: HELLO, fn: 'hello', expectedBody: EXPECTED_BODY }),
  {
    name: 'jco serve --isolate-requests instance',
    async start(tmp) {
      const port = await freePort();
      const jco = realpathSync(join(ROOT, 'node_modules/.bin/jco'));
      // --jco-dir: jco's own temp dir is only removed on a clean exit; this one is ours to remove.
      const args = ['serve', HELLO, '--host', '127.0.0.1', '--port', String(port), '--isolate-requests', 'instance', '--jco-dir', join(tmp, 'jco')];
      const server = new ServerProcess('jco serve', node([jco, ...args]));
      const m = await server.waitFor(/Server listening @ [\d.]+:(\d+)/);
      return { server, url: `http://127.0.0.1:${m[1]}/` };
    },
  },
];

/** One autocannon run, with every response's latency (autocannon's own histogram keeps whole ms only). */
async function load(url: string, connections: number, durationS: number, expectBody: string): Promise<{ result: Result; latencyMs: Float64Array }> {
  const times: number[] = [];
  const run = autocannon({ url, connections, duration: durationS, pipelining: 1, timeout: 10, expectBody });
  run.on('response', (_client, _status, _bytes, ms) => times.push(ms));
  const result = await run;
  return { result, latencyMs: Float64Array.from(times).sort() };
}

/** The `p`-quantile (0–1) of sorted values. */
function quantile(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** One target's figures over one measured round. */
type Round = Pick<HttpRow, 'rps' | 'requests' | 'non2xx' | 'errors' | 'timeouts' | 'mismatches' | 'serverCores' | 'clientCores'> & { latencyMs: Float64Array };

/** A started, checked and warmed target, waiting for its rounds. */
interface Running {
  target: Target;
  started: Started;
  expected: string;
  /** The target's own figures over all its rounds (see {@link Target.watch}). */
  watched: (() => Promise<Partial<HttpRow>>) | undefined;
  rounds: Round[];
}

/** Starts a target, checks its answer and puts it under load for the warm-up. */
async function prepare(target: Target, opts: HttpOptions, tmp: string): Promise<Running> {
  const started = await target.start(tmp);
  const expected = target.expectedBody ?? EXPECTED_BODY;
  try {
    const probe = await fetch(started.url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    const body = await probe.text();
    if (probe.status !== 200 || body !== expected) throw new Error(`${target.name}: ${started.url} answered ${probe.status} ${JSON.stringify(body.slice(0, 200))}`);
    if (opts.warmupS > 0) await load(started.url, opts.connections, opts.warmupS, expected);
    return { target, started, expected, watched: undefined, rounds: [] };
  } catch (e) {
    await started.server.stop();
    throw e;
  }
}

/** One measured round of a running target. */
async function measureRound(t: Running, durationS: number, connections: number): Promise<Round> {
  const { server, url } = t.started;
  const serverCpu0 = server.cpuSeconds();
  const clientCpu0 = process.cpuUsage();
  const { result: r, latencyMs } = await load(url, connections, durationS, t.expected);
  const clientCpu = process.cpuUsage(clientCpu0);
  const serverCpu1 = server.cpuSeconds();
  return {
    rps: r.requests.total / r.duration,
    latencyMs,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    mismatches: r.mismatches,
    serverCores: serverCpu0 === undefined || serverCpu1 === undefined ? undefined : (serverCpu1 - serverCpu0) / r.duration,
    clientCores: (clientCpu.user + clientCpu.system) / 1e6 / r.duration,
  };
}

/**
 * A target's row: its best round by req/s, with failures and requests
 * counted over every round. On a shared machine other tenants only ever slow
 * a server down, so the fastest round is the least disturbed one (as the
 * minimum time is in a micro-benchmark).
 */
function rowOf(t: Running, own: Partial<HttpRow>): HttpRow {
  const m = t.rounds.reduce((best, r) => (r.rps > best.rps ? r : best));
  const sum = (f: (r: Round) => number): number => t.rounds.reduce((n, r) => n + f(r), 0);
  return {
    ...own,
    name: t.target.name,
    rps: m.rps,
    p50Ms: quantile(m.latencyMs, 0.5),
    p99Ms: quantile(m.latencyMs, 0.99),
    requests: sum((r) => r.requests),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    mismatches: sum((r) => r.mismatches),
    serverCores: m.serverCores,
    clientCores: m.clientCores,
    rpsRounds: t.rounds.map((r) => r.rps),
  };
}

/**
 * Seconds of load before each target's measured run. A fresh `micron serve`
 * needs about 5 s of load to settle (its wasm and JS code tier up, its heap
 * sizes itself): its first 3 s window under load cost 1.5–1.8× the server CPU
 * per request of the later ones. Bare Hono settles sooner; it gets the same.
 */
export function warmupSeconds(quick: boolean): number {
  return quick ? 0.5 : 5;
}

/** Runs every target in turn; see the file comment. */
export async function runHttpBench(opts: HttpOptions & { quick?: boolean }): Promise<HttpReport> {
  const calibration = calibrationTargets(opts.quick ?? false);
  const rows = await runHttpTargets([...TARGETS, ...calibration], opts);
  return { rows, markdown: render(rows.slice(0, TARGETS.length), rows.slice(TARGETS.length), opts), failures: httpFailures(rows) };
}

/**
 * Loads each target in turn, alone, with the pinning and checks described in
 * the file comment; every server is stopped and temporary files removed
 * before this returns or throws.
 */
export async function runHttpTargets(targets: readonly Target[], opts: HttpOptions): Promise<HttpRow[]> {
  const tmp = await mkdtemp(join(tmpdir(), 'micron-bench-http-'));
  trackDir(tmp);
  const unpin = pinSelf(1);
  process.once('exit', cleanupNow);
  const running: Running[] = [];
  try {
    // Every server up and warm first; idle servers wait on their own core's run queue and take no CPU.
    for (const t of targets) {
      process.stderr.write(`http: starting and warming ${t.name} …\n`);
      running.push(await prepare(t, opts, tmp));
    }
    for (const t of running) t.watched = t.target.watch ? await t.target.watch(t.started) : undefined;
    const rounds = Math.max(1, opts.rounds ?? 1);
    const perRoundS = opts.durationS / rounds;
    for (let i = 0; i < rounds; i++) {
      for (const t of running) {
        process.stderr.write(`http: round ${i + 1}/${rounds}: ${t.target.name} …\n`);
        t.rounds.push(await measureRound(t, perRoundS, opts.connections));
      }
    }
    const rows: HttpRow[] = [];
    for (const t of running) rows.push(rowOf(t, t.watched ? await t.watched() : {}));
    return rows;
  } finally {
    await Promise.all(running.map((t) => t.started.server.stop()));
    cleanupNow();
    process.off('exit', cleanupNow);
    unpin();
  }
}

/**
 * Measured rounds per target: `BENCH_ROUNDS`, else 3 (1 when quick). More
 * rounds spread each target's measured time over the run, so a disturbance
 * of the shared machine lands in some rounds of each target rather than on
 * one target, and the best round leaves it out.
 */
export function roundsFromEnv(quick: boolean): number {
  const raw = process.env.BENCH_ROUNDS;
  if (raw === undefined || raw === '') return quick ? 1 : 3;
  const n = Number(raw);
  if (!(Number.isInteger(n) && n >= 1 && n <= 20)) throw new Error(`BENCH_ROUNDS must be a whole number from 1 to 20, got ${JSON.stringify(raw)}`);
  return n;
}

/** non-2xx + errors + timeouts + body mismatches over `rows`. */
export function httpFailures(rows: readonly HttpRow[]): number {
  return rows.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts + r.mismatches, 0);
}

/** A row's req/s of each round, in the order they ran. */
export function roundsCell(r: HttpRow): string {
  return r.rpsRounds.map((v) => num(v, 0)).join(' / ');
}

/** Requests per CPU-second the server's process group used, or undefined. */
export function perServerCpu(r: HttpRow | undefined): number | undefined {
  return r?.serverCores ? r.rps / r.serverCores : undefined;
}

/** Server CPU per request, µs, or undefined. */
export function cpuUsPerRequest(r: HttpRow | undefined): number | undefined {
  return r?.serverCores ? (r.serverCores / r.rps) * 1e6 : undefined;
}

/** How the load was run, for a report's notes. */
export function loadNote(opts: HttpOptions): string {
  return (
    `${opts.connections} connections, pipelining 1. Every server is started and warmed (${opts.warmupS} s of load each) before any is measured; ` +
    `then ${opts.durationS} s are measured per target in ${opts.rounds ?? 1} round${(opts.rounds ?? 1) === 1 ? '' : 's'} of ${num(opts.durationS / (opts.rounds ?? 1), 1)} s, the targets taking turns, ` +
    'and each row is its best round by req/s, the least disturbed on a shared machine (latencies and CPU from that round; requests and failures over all rounds). ' +
    (CAN_PIN ? 'Server pinned to CPU 0 (`taskset -c 0`), autocannon to CPU 1.' : 'Not pinned (no taskset or fewer than 2 CPUs): client and server share CPUs.')
  );
}

function render(rows: HttpRow[], calibration: HttpRow[], opts: HttpOptions): string {
  const [hono, micron, jco] = rows;
  const table = markdownTable(
    ['target', 'req/s', 'req/s by round', 'req per server CPU-s', 'server CPU µs / req', 'p50 ms', 'p99 ms', 'requests', 'non-2xx', 'errors', 'timeouts', 'body mismatches', 'server CPU (cores)', 'client CPU (cores)'],
    [...rows, ...calibration].map((r) => [
      r.name,
      num(r.rps, 0),
      roundsCell(r),
      num(perServerCpu(r), 0),
      num(cpuUsPerRequest(r), 1),
      num(r.p50Ms, 2),
      num(r.p99Ms, 2),
      String(r.requests),
      String(r.non2xx),
      String(r.errors),
      String(r.timeouts),
      String(r.mismatches),
      num(r.serverCores, 2),
      num(r.clientCores, 2),
    ]),
  );
  const vs = (a: HttpRow | undefined, b: HttpRow | undefined): string =>
    `req/s ${ratio(a?.rps, b?.rps)}, req per server CPU-s ${ratio(perServerCpu(a), perServerCpu(b))}, ` +
    `p50 latency ${ratio(a?.p50Ms, b?.p50Ms)}, p99 latency ${ratio(a?.p99Ms, b?.p99Ms)}`;
  const all = [...rows, ...calibration];
  const failures = all.filter((r) => r.non2xx + r.errors + r.timeouts + r.mismatches > 0).map((r) => r.name);
  // A server that was the bottleneck should have used its whole core; one that got less was starved (or waiting).
  const starved = all.filter((r) => r.serverCores !== undefined && r.serverCores < 0.85 && r.clientCores < 0.9).map((r) => `${r.name} (${num(r.serverCores, 2)})`);
  return [
    '## HTTP load (loopback, autocannon)',
    '',
    table,
    '',
    `- Micron / Hono: ${vs(micron, hono)}`,
    `- Micron / jco serve: ${vs(micron, jco)}`,
    failures.length > 0 ? `- **FAILED REQUESTS** on: ${failures.join(', ')}` : '- every response was 200 with the expected body',
    ...(starved.length > 0
      ? [
          `- **servers short of a core**: ${starved.join(', ')}. The machine was busy (see the load average) or the server waited on something; ` +
            'req/s is then a contention figure, and req per server CPU-second is the steadier comparison.',
        ]
      : []),
    '',
    loadNote(opts) +
      ' CPU columns: CPU seconds per second of the run (1.00 = one core busy); a client near 1.00 means the load generator, not the server, set the pace.',
    '',
    ...renderCalibration(hono, micron, calibration),
  ].join('\n');
}

/**
 * The paragraph on Micron with its handler timed: its handler µs under this
 * load, and how much of its server CPU the line puts outside the handler.
 */
function renderTimed(timed: HttpRow | undefined, fit: { intercept: number; slope: number } | undefined): string[] {
  if (timed?.handlerUs === undefined) return [];
  const cpu = cpuUsPerRequest(timed);
  const predicted = fit && fit.slope > 0 ? fit.intercept + fit.slope * timed.handlerUs : undefined;
  return [
    `"${timed.name}" is bench/micron-timed-server.ts: the host \`micron serve\` runs, embedded with \`createHost\` in a node:http server whose listener times each call of the public app. ` +
      `Under this load Micron's handler took ${num(timed.handlerUs, 1)} µs per request, timed inside the server; set that beside task (e) of the instantiate bench, the same handler called back to back in-process: ` +
      'the ratio is how much slower Micron\'s own code runs between node\'s HTTP work (caches, branch predictors and TLB shared with it) than alone.' +
      (cpu !== undefined && predicted !== undefined
        ? ` Its ${num(cpu, 1)} µs of server CPU per request against the ${num(predicted, 1)} µs the line gives a handler of that cost leaves ${num(cpu - predicted, 1)} µs per request outside the handler ` +
          '(the log batches\' writes, garbage collection, and the noise of the run).'
        : '') +
      (timed.records
        ? ` Inside the handler, its records' own timings: ${describeMeans(timed.records)} (whole µs each); the same figures in-process are under the instantiate bench's table.`
        : ''),
    '',
  ];
}

/** The host-core issue's target for Micron against bare Hono; the calibration says what handler cost it allows. */
const TARGET_RATIO = 0.7;

/** The mean of the defined values, or undefined. */
function mean(values: readonly (number | undefined)[]): number | undefined {
  const xs = values.filter((v): v is number => v !== undefined);
  return xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** The least-squares line y = intercept + slope·x through `points`, or undefined without two distinct x. */
function fitLine(points: readonly (readonly [number, number])[]): { intercept: number; slope: number } | undefined {
  const mx = mean(points.map(([x]) => x));
  const my = mean(points.map(([, y]) => y));
  if (mx === undefined || my === undefined) return undefined;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  if (!(sxx > 0)) return undefined;
  const slope = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx;
  return { intercept: my - slope * mx, slope };
}

/**
 * The calibration rows against bare Hono (the mean of its run as the first
 * target and its run again just before the loops): what a handler that
 * spends N µs (timed inside it) gets here, how much server CPU each µs of
 * handler work costs under load, and what handler cost {@link TARGET_RATIO}
 * allows.
 */
function renderCalibration(hono: HttpRow | undefined, micron: HttpRow | undefined, calibration: HttpRow[]): string[] {
  const [again, ...rest] = calibration;
  if (again === undefined) return [];
  const loops = rest.filter((r) => r.spinTargetUs !== undefined);
  const timed = rest.find((r) => r.handlerUs !== undefined);
  const baseCpu = mean([cpuUsPerRequest(hono), cpuUsPerRequest(again)]);
  const baseRps = mean([hono?.rps, again.rps]);
  const extra = (r: HttpRow | undefined): number | undefined => {
    const cpu = cpuUsPerRequest(r);
    return cpu === undefined || baseCpu === undefined ? undefined : cpu - baseCpu;
  };
  const table = markdownTable(
    [
      'calibration target',
      'handler µs / req, timed in it',
      'req/s',
      '× Hono req/s',
      'server CPU µs / req',
      'extra server CPU µs / req',
      '… per µs of handler work',
      'loop iterations, end / idle-calibrated',
    ],
    calibration.map((r) => {
      const perUs = extra(r);
      const handlerUs = r === again ? 0 : (r.spinUs ?? r.handlerUs);
      return [
        r.name,
        r === again ? '0' : num(handlerUs, 1),
        num(r.rps, 0),
        ratio(r.rps, baseRps),
        num(cpuUsPerRequest(r), 1),
        num(perUs, 1),
        handlerUs && perUs !== undefined ? num(perUs / handlerUs, 2) : '—',
        r.spinSpeed === undefined ? '—' : `${num(r.spinSpeed, 2)}×`,
      ];
    }),
  );
  const points = [...[hono, again].map((r) => [0, cpuUsPerRequest(r)] as const), ...loops.map((r) => [r.spinUs, cpuUsPerRequest(r)] as const)].filter(
    (p): p is readonly [number, number] => p[0] !== undefined && p[1] !== undefined,
  );
  const fit = loops.length > 0 ? fitLine(points) : undefined;
  const micronCpu = cpuUsPerRequest(micron);
  return [
    '### Calibration: bare Hono plus a busy loop',
    '',
    table,
    '',
    'Each loop row is bench/hono-server.ts whose handler first runs a pure-CPU loop (integer arithmetic on locals, nothing allocated) ' +
      'for N µs, timed inside the handler; body, headers and routes are the plain server\'s. ' +
      `Bare Hono's figures here are the mean of its two runs (${num(cpuUsPerRequest(hono), 1)} and ${num(cpuUsPerRequest(again), 1)} µs of server CPU per request, ` +
      `${num(hono?.rps, 0)} and ${num(again.rps, 0)} req/s): "× Hono req/s" and "extra server CPU" are against that mean, ` +
      'and the gap between the two (identical servers, measured in the same rounds) is the run\'s noise. ' +
      '"… per µs of handler work" divides the extra by the loop\'s time in the handler: above 1, the machine charges each µs a handler spends with more server CPU ' +
      '(node\'s HTTP path and the kernel\'s, the client\'s wake-ups), whatever the work. ' +
      'The last column is the loop\'s iteration count at the end of the run over the count calibrated at start outside the handler; ' +
      'away from 1×, the loop ran at another speed in the handler than at start (V8 compiles it again when it inlines it into Hono\'s request path; the machine drifts) and the server changed the count to keep N µs.',
    '',
    ...(fit === undefined || !(fit.slope > 0)
      ? ['The loop rows gave no positive slope of server CPU against handler µs (the machine drifted more than the loops cost): rerun, longer.']
      : [
          `Least squares over both bare-Hono runs and the loops: server CPU per request ≈ ${num(fit.intercept, 1)} µs + ${num(fit.slope, 2)} × handler µs. ` +
            `At that rate a handler reaches ${TARGET_RATIO.toFixed(2)}× bare Hono's requests per server CPU-second (req/s, when the server is the bottleneck) ` +
            `only if it costs at most about ${num((fit.intercept * (1 / TARGET_RATIO - 1)) / fit.slope, 1)} µs` +
            (micronCpu === undefined
              ? '.'
              : `; Micron's ${num(micronCpu, 1)} µs of server CPU per request is what a handler of about ${num((micronCpu - fit.intercept) / fit.slope, 1)} µs costs here. ` +
                'Compare that with Micron\'s in-process handler cost (instantiate bench, task (e)): the difference is what Micron costs under HTTP load beyond its in-process figure.'),
        ]),
    '',
    ...renderTimed(timed, fit),
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cleanupOnSignals();
  const quick = process.env.BENCH_QUICK === '1';
  const durationS = Number(process.env.BENCH_DURATION ?? (quick ? 2 : 10));
  const report = await runHttpBench({ durationS, warmupS: warmupSeconds(quick), connections: 50, rounds: roundsFromEnv(quick), quick });
  process.stdout.write(report.markdown);
  process.exit(report.failures > 0 ? 1 : 0);
}
