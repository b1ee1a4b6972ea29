/**
 * Per-request cost of a Go function (components/go-hello, a wasip1 command)
 * through CommandRunner, in-process with tinybench:
 *
 * (a) `new WebAssembly.Instance` of go-hello's command module with Micron's
 *     preview1 imports, nothing run: the baseline (17.5 MiB memory, ~37,000
 *     data segments);
 * (b) `fresh` mode, a whole request: new instance, `_start` (Go runtime and
 *     package init, then the handler), CGI parsing;
 * (c) `snapshot` mode, requests back to back: the instance is written back
 *     to the post-init image inside each request, then resumed;
 * (d) `snapshot` mode with a moment between requests: the write-back runs in
 *     the `setImmediate` after the previous request (untimed `beforeEach`),
 *     so a request is only resume + handler + parsing.
 *
 * Setup (reading the component, compiling, preparing the snapshot) happens
 * before timing. Ratios are to (a) measured in the same run.
 *
 * Run alone: `node --import ./host/loader/register.mjs bench/go-command.bench.ts` (BENCH_QUICK=1 for a short run).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { readComponent } from '../host/compile/component-binary.ts';
import { CommandRunner, findCommandModule } from '../host/runtime/command-runner.ts';
import type { CommandRequest } from '../host/runtime/command-runner.ts';
import { importAliases, Preview1 } from '../host/wasi/preview1/preview1.ts';
import { markdownTable, num, ratio } from './table.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EXPECTED = 'Hello from Go!\n';

/** Options of {@link runGoCommandBench}. */
export interface GoCommandOptions {
  /** Measuring time per task, ms. */
  timeMs: number;
}

/** One task's figures, in µs. */
export interface GoCommandRow {
  name: string;
  samples: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

/** The bench's rows and its markdown section. */
export interface GoCommandReport {
  rows: GoCommandRow[];
  markdown: string;
}

/** Runs the bench on components/go-hello. */
export async function runGoCommandBench(opts: GoCommandOptions): Promise<GoCommandReport> {
  const core = findCommandModule(readComponent(readFileSync(resolve(ROOT, 'components/go-hello/go-hello.wasm'))).modules);
  if (!core) throw new Error('go-hello: no command module in the component');
  const module = await WebAssembly.compile(core as Uint8Array<ArrayBuffer>);
  const aliases = importAliases(module);
  const fresh = new CommandRunner(module, { mode: 'fresh' });
  const snapshot = await CommandRunner.compile(core);
  if (snapshot.modeFor({}) !== 'snapshot') throw new Error('go-hello did not pause: it is not built with the SDK snapshot tag');

  const request: CommandRequest = {
    method: 'GET',
    url: new URL('http://fn.local/hello?x=1'),
    headers: [['user-agent', 'bench']],
    body: new Uint8Array(),
    env: {},
    requestId: 'bench',
  };
  const check = (res: { status: number; body: Uint8Array }) => {
    if (res.status !== 200 || new TextDecoder().decode(res.body) !== EXPECTED) throw new Error(`unexpected response ${res.status}`);
  };
  check(fresh.runSync(request));
  check(snapshot.runSync(request));

  const rawInstance = () => {
    const wasi = new Preview1({ args: ['function.wasm'], env: {}, aliases });
    return new WebAssembly.Instance(module, wasi.imports);
  };
  const nextTurn = () => new Promise<void>((r) => setImmediate(r));
  const tasks = [
    { name: '(a) raw WebAssembly.Instance (baseline)', fn: rawInstance },
    { name: '(b) fresh: new instance + _start + handler', fn: () => check(fresh.runSync(request)) },
    { name: '(c) snapshot, back to back (write-back inline)', fn: () => check(snapshot.runSync(request)) },
    { name: '(d) snapshot, write-back between requests', fn: () => check(snapshot.runSync(request)), beforeEach: nextTurn },
  ];

  const bench = new Bench({ time: opts.timeMs, warmupTime: Math.max(100, opts.timeMs / 4), throws: true });
  for (const t of tasks) bench.add(t.name, t.fn, t.beforeEach ? { beforeEach: t.beforeEach } : {});
  await bench.run();

  const rows: GoCommandRow[] = tasks.map((t) => {
    const r = bench.getTask(t.name)?.result;
    if (!r || r.error) throw new Error(`${t.name} failed: ${r?.error?.message ?? 'no result'}`);
    const l = r.latency;
    return { name: t.name, samples: l.samples.length, p50Us: (l.p50 ?? NaN) * 1000, p99Us: (l.p99 ?? NaN) * 1000, meanUs: l.mean * 1000 };
  });
  return { rows, markdown: render(rows, opts) };
}

function render(rows: readonly GoCommandRow[], opts: GoCommandOptions): string {
  const base = rows[0];
  const fresh = rows[1];
  const table = markdownTable(
    ['task', 'samples', 'p50 µs', 'p99 µs', 'mean µs', 'p50 × (a)', 'p50 × (b)'],
    rows.map((r) => [r.name, String(r.samples), num(r.p50Us, 1), num(r.p99Us, 1), num(r.meanUs, 1), ratio(r.p50Us, base?.p50Us), ratio(r.p50Us, fresh?.p50Us)]),
  );
  return [
    '## Go command (components/go-hello)',
    '',
    `tinybench, ${opts.timeMs} ms per task, one process; ratios to (a) and (b) from the same run.`,
    '',
    table,
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.env['BENCH_QUICK'] === '1';
  const report = await runGoCommandBench({ timeMs: quick ? 500 : 3000 });
  console.log(report.markdown);
}
