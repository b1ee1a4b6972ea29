/**
 * Deadline options for guest code that never yields (docs/adr/002-deadlines.md):
 *
 * A. the cost each guest call pays for being stoppable, on a trivial wasm
 *    export: direct call (baseline), the native watchdog (a persistent thread
 *    calling V8's TerminateExecution), node's `vm` timeout (a watchdog thread
 *    per call), and a worker-thread executor (one message round trip);
 * B. the same on whole in-process requests of components/hello (`host.fetch`),
 *    with each watchdog, against no watchdog;
 * C. how late a spinning guest is stopped after its deadline (and, for the
 *    worker, what recovering costs: terminate plus a new worker that must
 *    compile and instantiate again);
 * D. end to end over HTTP with the default watchdog: a looping function with
 *    a 200 ms deadline; when the 504 arrives relative to the deadline.
 *
 * Setup is outside timing; every ratio is to a baseline from the same run.
 * Run: `node --import ./host/loader/register.mjs bench/deadlines.bench.ts` (BENCH_QUICK=1 for a short
 * run). Writes bench/results/<date>-deadlines.md and latest-deadlines.md.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { cpus, loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parse } from '@bytecodealliance/jco';
import { Bench } from 'tinybench';
import { createHost } from '../host/index.ts';
import { nativeWatchdog } from '../host/runtime/watchdog/native-watchdog.ts';
import { vmWatchdog } from '../host/runtime/watchdog/vm-watchdog.ts';
import { DeadlineExceeded, useWatchdog, watchdog, type Watchdog } from '../host/runtime/watchdog/index.ts';
import { buildGuest, GUESTS } from '../test/guests.ts';
import { markdownTable, num, ratio } from './table.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.env.BENCH_QUICK === '1';
const timeMs = quick ? 300 : 2000;

const WAT = `(module
  (func (export "spin") (param i32 i32) (loop $l (br $l)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))`;

interface Row {
  name: string;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

async function timeTasks(tasks: { name: string; fn: () => unknown; before?: () => void }[]): Promise<Row[]> {
  const bench = new Bench({ time: timeMs, warmupTime: Math.max(100, timeMs / 4), throws: true });
  for (const t of tasks) bench.add(t.name, t.fn as () => void, t.before ? { beforeAll: t.before } : {});
  await bench.run();
  return tasks.map((t) => {
    const r = bench.getTask(t.name)?.result;
    if (!r || r.error) throw new Error(`${t.name} failed: ${r?.error?.message ?? 'no result'}`);
    return { name: t.name, p50Us: (r.latency.p50 ?? NaN) * 1000, p99Us: (r.latency.p99 ?? NaN) * 1000, meanUs: r.latency.mean * 1000 };
  });
}

function table(rows: Row[]): string {
  const base = rows[0]!;
  return markdownTable(
    ['task', 'p50 µs', 'p99 µs', 'mean µs', 'mean − baseline µs', 'mean × baseline'],
    rows.map((r) => [r.name, num(r.p50Us, 3), num(r.p99Us, 3), num(r.meanUs, 3), num(r.meanUs - base.meanUs, 3), ratio(r.meanUs, base.meanUs)]),
  );
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

/** A worker that holds the same module and answers `add` calls; `spin` never answers. */
function startWorker(bytes: Uint8Array): Promise<{ worker: Worker; call: (op: 'add' | 'spin') => Promise<number> }> {
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    const instance = new WebAssembly.Instance(new WebAssembly.Module(workerData), {});
    parentPort.on('message', (m) => parentPort.postMessage(m === 'spin' ? instance.exports.spin(0, 0) : instance.exports.add(1, 2)));
    parentPort.postMessage('ready');`;
  const worker = new Worker(src, { eval: true, workerData: bytes });
  const waiting: ((v: number) => void)[] = [];
  return new Promise((ok) => {
    worker.once('message', () => {
      worker.on('message', (v: number) => waiting.shift()?.(v));
      ok({
        worker,
        call: (op) =>
          new Promise<number>((r) => {
            waiting.push(r);
            worker.postMessage(op);
          }),
      });
    });
  });
}

async function partA(bytes: Uint8Array, native: Watchdog | undefined): Promise<string> {
  const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>);
  const add = instance.exports.add as (a: number, b: number) => number;
  const vmw = vmWatchdog();
  const w = await startWorker(bytes);
  let i = 0;
  const rows = await timeTasks([
    { name: 'direct call (baseline)', fn: () => add(i++, 1) },
    ...(native ? [{ name: 'native watchdog', fn: () => native.call(add, i++, 1, 30_000) }] : []),
    { name: 'vm timeout', fn: () => vmw.call(add, i++, 1, 30_000) },
    { name: 'worker thread round trip', fn: () => w.call('add') },
  ]);
  await w.worker.terminate();
  return `## A. Per guest call: a trivial wasm export\n\n${table(rows)}\n`;
}

async function partB(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'micron-bench-deadlines-'));
  const host = await createHost({ dataDir: dir, adminToken: 'bench-admin-token-0123', log: false, observe: false });
  try {
    await host.deploy('hello', new Uint8Array(readFileSync(join(ROOT, 'components/hello/hello.wasm'))));
    const request = async (): Promise<void> => {
      const res = await host.fetch(new Request('http://localhost/hello/'));
      if ((await res.text()) !== 'Hello from Micron!\n') throw new Error('unexpected body');
    };
    const kinds = (['off', 'native', 'vm', 'off'] as const).filter((k) => k !== 'native' || nativeAvailable());
    const rows = await timeTasks(
      kinds.map((kind, i) => ({
        name: kind === 'off' ? (i === 0 ? 'no watchdog (baseline)' : 'no watchdog (again, for drift)') : `${kind} watchdog`,
        fn: request,
        before: () => void useWatchdog(kind),
      })),
    );
    return `## B. Per request: components/hello in-process (\`host.fetch\`, body read)\n\n${table(rows)}\n\nEach hello request enters guest code twice (instantiate and \`handle\`), so it pays the per-call cost of A twice.\n`;
  } finally {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function partC(bytes: Uint8Array, native: Watchdog | undefined): Promise<string> {
  const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>);
  const spin = instance.exports.spin as (a: number, b: number) => void;
  const deadline = 100;
  const runs = quick ? 5 : 20;
  const rows: string[][] = [];
  const stopLate = (w: Watchdog): number[] => {
    const late: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      try {
        w.call(spin, 0, 0, deadline);
        throw new Error('the spin returned');
      } catch (e) {
        if (!(e instanceof DeadlineExceeded)) throw e;
      }
      late.push(performance.now() - t0 - deadline);
    }
    return late;
  };
  for (const [name, w] of [['native watchdog', native], ['vm timeout', vmWatchdog()]] as const) {
    if (!w) continue;
    const late = stopLate(w);
    rows.push([name, num(percentile(late, 0.5), 2), num(Math.max(...late), 2), '—']);
  }
  // Worker: the guest spins in the worker; at the deadline the host terminates it and must start a new one.
  const late: number[] = [];
  const recover: number[] = [];
  for (let i = 0; i < Math.min(runs, 10); i++) {
    const w = await startWorker(bytes);
    const t0 = performance.now();
    void w.call('spin');
    await new Promise((r) => setTimeout(r, deadline));
    await w.worker.terminate();
    late.push(performance.now() - t0 - deadline);
    const t1 = performance.now();
    const again = await startWorker(bytes);
    await again.call('add');
    recover.push(performance.now() - t1);
    await again.worker.terminate();
  }
  rows.push(['worker thread (terminate)', num(percentile(late, 0.5), 2), num(Math.max(...late), 2), num(percentile(recover, 0.5), 2)]);
  return `## C. Stopping a guest that spins (deadline ${deadline} ms, ${runs} runs)\n\n${markdownTable(['option', 'stopped after deadline p50 ms', 'max ms', 'recovery p50 ms'], rows)}\n\nRecovery: for the worker, a new worker that compiles and instantiates the module again before it can serve; the in-thread options need none (the thread keeps running).\n`;
}

function get(port: number, path: string): Promise<{ status: number; ms: number }> {
  return new Promise((ok, fail) => {
    const t0 = performance.now();
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        res.resume();
        res.on('end', () => ok({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
      })
      .on('error', fail);
  });
}

async function partD(): Promise<string> {
  const kind = watchdog.kind;
  const dir = mkdtempSync(join(tmpdir(), 'micron-bench-deadlines-'));
  const host = await createHost({ dataDir: dir, adminToken: 'bench-admin-token-0123', log: false });
  try {
    const deadline = 200;
    await host.deploy('spin', await buildGuest(GUESTS.spin.body), { limits: { deadlineMs: deadline } });
    await host.deploy('hello', new Uint8Array(readFileSync(join(ROOT, 'components/hello/hello.wasm'))));
    const { public: addr } = await host.listen({ port: 0, host: '127.0.0.1', adminPort: 0 });
    const late: number[] = [];
    for (let i = 0; i < (quick ? 5 : 20); i++) {
      const r = await get(addr.port, '/spin/');
      if (r.status !== 504) throw new Error(`expected 504, got ${r.status}`);
      late.push(r.ms - deadline);
      if ((await get(addr.port, '/hello/')).status !== 200) throw new Error('hello failed after a stop');
    }
    return `## D. End to end over HTTP (${kind} watchdog)\n\nA function looping forever with \`deadlineMs: 200\`; ${late.length} requests, each followed by a hello that must succeed. The 504 arrived after the deadline by p50 ${num(percentile(late, 0.5), 2)} ms, max ${num(Math.max(...late), 2)} ms (target: within 50 ms).\n`;
  } finally {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function nativeAvailable(): boolean {
  try {
    nativeWatchdog();
    return true;
  } catch {
    return false;
  }
}

const bytes = await parse(WAT);
let native: Watchdog | undefined;
try {
  native = nativeWatchdog();
} catch (e) {
  process.stderr.write(`bench: no native watchdog (${(e as Error).message})\n`);
}
const started = new Date();
const cpu = cpus();
const sections = [
  `# Deadline options${quick ? ' (quick)' : ''}\n\n- date: ${started.toISOString()}\n- machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n- node: ${process.version}\n- command: \`${quick ? 'BENCH_QUICK=1 ' : ''}node --import ./host/loader/register.mjs bench/deadlines.bench.ts\`\n`,
  await partA(bytes, native),
  await partB(),
  await partC(bytes, native),
];
useWatchdog(native ? 'native' : 'vm');
sections.push(await partD());
const report = sections.join('\n');
process.stdout.write(report);
const out = join(ROOT, 'bench', 'results');
await mkdir(out, { recursive: true });
const suffix = quick ? 'deadlines-quick' : 'deadlines';
await writeFile(join(out, `${started.toISOString().slice(0, 10)}-${suffix}.md`), report);
await writeFile(join(out, `latest-${suffix}.md`), report);
process.exit(0);
