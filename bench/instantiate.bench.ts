/**
 * In-process instantiation bench for components/hello (tinybench):
 *
 * (a) `new WebAssembly.Instance` of hello's main core module with no-op imports — the baseline;
 * (a') the same, for the Asyncify-instrumented copy of that module Micron actually runs;
 * (b) Micron's `PreparedComponent#instantiate` only;
 * (c) Micron instantiate + handle: a whole `Invocation#start` until the guest is done and its
 *     web `Response` exists (what the HTTP layer then writes), synchronously as the server runs it;
 * (c') the same, plus reading that `Response` body back through undici (what an in-process
 *     `host.fetch()` caller pays on top);
 * (d) the `instantiate()` jco generates (`transpile --instantiation sync`) with preview2-shim imports;
 * (e) the whole public handler as `micron serve` runs it, without the socket: a host from
 *     `createHost` with hello deployed, its Hono app called the way @hono/node-server calls it
 *     (node's parsed request in `env.incoming`, node-server's lightweight `Response`): routing,
 *     admission, the invocation, the record, metrics and the log line (built, then dropped).
 *
 * Every task's setup (transpile, compile, prepare, import objects) happens
 * before timing. Ratios are to (a) measured in the same run. Heap per
 * instance is the `heapUsed` growth, after full GCs, while N results are kept
 * alive (wasm linear memory lives outside the JS heap and is not counted).
 *
 * Run alone: `node --import ./host/loader/register.mjs bench/instantiate.bench.ts` (BENCH_QUICK=1 for a short run).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { transpile } from '@bytecodealliance/jco';
import { WASIShim } from '@bytecodealliance/preview2-shim/instantiation';
import { getRequestListener } from '@hono/node-server';
import { Bench } from 'tinybench';
import { WitRegistry } from '../host/abi/wit.ts';
import { Compiler } from '../host/compile/compiler.ts';
import { coreModuleImports, readComponent } from '../host/compile/component-binary.ts';
import { DEFAULT_LIMITS } from '../host/config.ts';
import { createHost } from '../host/index.ts';
import { TRUSTED_INCOMING } from '../host/server/public.ts';
import { guestPolicy } from '../host/runtime/runtime.ts';
import { Invocation, type GuestRequest } from '../host/runtime/invocation.ts';
import { hostInterfaces } from '../host/wasi/imports.ts';
import { cleanupOnSignals, trackDir } from './cleanup.ts';
import { describeMeans, recordMeans, type RecordMeans } from './record-means.ts';
import { markdownTable, num, ratio } from './table.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EXPECTED_BODY = 'Hello from Micron!\n';

/** Options of {@link runInstantiateBench}. */
export interface InstantiateOptions {
  /** Measuring time per task, ms. */
  timeMs: number;
  /** Instances kept alive to measure heap per instance. */
  heapInstances: number;
}

/** One task's figures, in µs; heap in bytes per live instance. */
export interface InstantiateRow {
  name: string;
  samples: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  heapBytes: number | undefined;
  /** (e): the invocation records' own timings over its last runs. */
  records?: RecordMeans;
}

/** The bench's rows and its markdown section. */
export interface InstantiateReport {
  rows: InstantiateRow[];
  markdown: string;
}

/** The `instantiate` export of jco's generated `component.js` (sync instantiation). */
type JcoInstantiate = (getCoreModule: (name: string) => WebAssembly.Module, imports: object) => object;

interface Task {
  name: string;
  /** The timed operation. */
  fn: () => unknown;
  /** Produces one live instance for the heap measurement; absent when nothing stays alive. */
  keep?: () => unknown;
}

/** Runs the bench; see the file comment for what each task measures. */
export async function runInstantiateBench(opts: InstantiateOptions): Promise<InstantiateReport> {
  const bytes = new Uint8Array(readFileSync(join(ROOT, 'components/hello/hello.wasm')));

  // Micron: build (transpile + instrument) and prepare once, as a deploy does.
  const wit = WitRegistry.fromDirectory(join(ROOT, 'wit'));
  const compiler = new Compiler(wit, hostInterfaces(wit));
  const built = await compiler.build(bytes);
  const loaded = await compiler.load(bytes, built.meta, (n) => built.files.get(n));
  const prepared = loaded.prepared;
  const { plan } = prepared;
  const entryStep = plan.steps[plan.entry.instance];
  if (entryStep?.kind !== 'instantiate') throw new Error('hello: the entry export does not come from an instantiated core module');
  const mainIndex = entryStep.module;
  const mainBytes = readComponent(bytes).modules[mainIndex];
  if (!mainBytes) throw new Error(`hello: core module ${mainIndex} is missing`);
  const rawMain = new WebAssembly.Module(mainBytes as Uint8Array<ArrayBuffer>);
  const rawImports = noopImports(rawMain, undefined);
  const instrumentedBytes = built.files.get(`module-${mainIndex}.wasm`);
  const instrumented = instrumentedBytes ? new WebAssembly.Module(instrumentedBytes as Uint8Array<ArrayBuffer>) : undefined;
  // An instrumented module imports its memory (Micron pools it): give it one, reused, like a warm pool.
  const memoryPages = instrumentedBytes ? coreModuleImports(instrumentedBytes).find((i) => i.kind === 'memory')?.limits?.initial : undefined;
  const instrumentedImports = instrumented ? noopImports(instrumented, memoryPages) : undefined;

  const policy = guestPolicy(DEFAULT_LIMITS);
  const request = (): GuestRequest => ({ method: 'GET', pathWithQuery: '/', scheme: 'http', authority: 'localhost', headers: [], body: null, maxBodyBytes: 0 });
  // What the server does per request: hello answers without waiting, so `start` returns the
  // Response itself and the guest has finished (and its instance is released) when it returns.
  const handleOnly = (): Invocation => {
    const inv = new Invocation(prepared, 'bench', policy);
    let finished = false;
    const response = inv.start(request(), DEFAULT_LIMITS.deadlineMs, () => (finished = true));
    if (!(response instanceof Response) || !finished || inv.outcome?.kind !== 'ok') throw new Error(`hello failed: ${JSON.stringify(inv.outcome)}`);
    return inv;
  };
  const invoke = async (): Promise<Invocation> => {
    const inv = new Invocation(prepared, 'bench', policy);
    const { response, done } = inv.run(request(), DEFAULT_LIMITS.deadlineMs);
    const body = await (await response).text();
    await done;
    if (body !== EXPECTED_BODY) throw new Error(`hello answered ${JSON.stringify(body)}`);
    return inv;
  };

  // jco: transpile once, import the generated module, compile its core modules once.
  const jcoDir = await mkdtemp(join(tmpdir(), 'micron-bench-jco-'));
  trackDir(jcoDir);
  try {
    const { files } = await transpile(bytes, { instantiation: 'sync', noTypescript: true, name: 'component' } as never);
    await writeFile(join(jcoDir, 'component.js'), files['component.js']!);
    const jco = (await import(pathToFileURL(join(jcoDir, 'component.js')).href)) as { instantiate: JcoInstantiate };
    const coreModules = new Map<string, WebAssembly.Module>();
    for (const [name, content] of Object.entries(files)) {
      if (name.endsWith('.wasm')) coreModules.set(name, new WebAssembly.Module(content as Uint8Array<ArrayBuffer>));
    }
    const getCoreModule = (name: string): WebAssembly.Module => {
      const m = coreModules.get(name);
      if (!m) throw new Error(`jco asked for unknown core module ${name}`);
      return m;
    };
    const shimImports = new WASIShim().getImportObject();
    const rawInstance = (): WebAssembly.Instance => new WebAssembly.Instance(rawMain, rawImports);
    const instrumentedInstance = (): WebAssembly.Instance => new WebAssembly.Instance(instrumented!, instrumentedImports!);
    const jcoInstance = (): object => jco.instantiate(getCoreModule, shimImports);

    const tasks: Task[] = [
      { name: '(a) raw WebAssembly.Instance, main core module', fn: rawInstance, keep: rawInstance },
      ...(instrumented ? [{ name: "(a') raw WebAssembly.Instance, instrumented main module", fn: instrumentedInstance, keep: instrumentedInstance }] : []),
      {
        name: `(b) Micron prepared.instantiate (+ release), mode ${prepared.mode}`,
        fn: () => prepared.release(prepared.instantiate()),
        keep: () => prepared.instantiate(),
      },
      { name: '(c) Micron instantiate + handle (Invocation.start)', fn: handleOnly },
      { name: "(c') (c) + reading the Response body via undici", fn: invoke },
      { name: '(d) jco generated instantiate()', fn: jcoInstance, keep: jcoInstance },
    ];

    const bench = new Bench({ time: opts.timeMs, warmupTime: Math.max(100, opts.timeMs / 4), throws: true });
    for (const t of tasks) bench.add(t.name, t.fn);
    await bench.run();
    const handler = await benchPublicHandler(bytes, opts);

    const gc = exposeGc();
    const rows: InstantiateRow[] = [];
    for (const t of tasks) {
      const r = bench.getTask(t.name)?.result;
      if (!r || r.error) throw new Error(`${t.name} failed: ${r?.error?.message ?? 'no result'}`);
      const l = r.latency;
      rows.push({
        name: t.name,
        samples: l.samples.length,
        p50Us: (l.p50 ?? NaN) * 1000,
        p99Us: (l.p99 ?? NaN) * 1000,
        meanUs: l.mean * 1000,
        heapBytes: gc && t.keep ? await heapPerInstance(gc, t.keep, opts.heapInstances) : undefined,
      });
    }
    rows.push(...handler);
    return { rows, markdown: render(rows, opts, built.meta.instrumented.length > 0) };
  } finally {
    await rm(jcoDir, { recursive: true, force: true });
    trackDir(jcoDir, false);
  }
}

const HANDLER_TASK = '(e) Micron public handler, in-process (routing, admission, invocation, record, log line)';

/**
 * Task (e), in a bench of its own after the others: it installs
 * @hono/node-server's lightweight `Request`/`Response` globals, as
 * `micron serve` does, which would change what (c') measures.
 */
async function benchPublicHandler(bytes: Uint8Array, opts: InstantiateOptions): Promise<InstantiateRow[]> {
  getRequestListener(() => new Response(null)); // installs node-server's globals, as serving does
  const dataDir = await mkdtemp(join(tmpdir(), 'micron-bench-handler-'));
  trackDir(dataDir);
  // The log line is built as in production and handed to a sink that drops it.
  const host = await createHost({ dataDir, adminToken: 'bench-admin-token-0123', log: () => undefined });
  try {
    await host.deploy('hello', bytes);
    // What node's http parser hands @hono/node-server for `GET /hello/` (the fields the app reads),
    // marked as host.listen() marks the requests of its own listener.
    const incoming = {
      method: 'GET',
      url: '/hello/',
      headers: { host: 'localhost:8080', 'user-agent': 'bench', accept: '*/*' },
      rawHeaders: ['Host', 'localhost:8080', 'User-Agent', 'bench', 'Accept', '*/*'],
      [TRUSTED_INCOMING]: true,
    };
    const env = { incoming };
    const request = new Request('http://localhost:8080/hello/');
    const app = host.app;
    const call = (): void => {
      const r = app.fetch(request, env);
      if (r instanceof Promise || r.status !== 200) throw new Error('hello did not answer 200 synchronously');
    };
    const bench = new Bench({ time: opts.timeMs, warmupTime: Math.max(100, opts.timeMs / 4), throws: true });
    bench.add(HANDLER_TASK, call);
    await bench.run();
    const r = bench.getTask(HANDLER_TASK)?.result;
    if (!r || r.error) throw new Error(`${HANDLER_TASK} failed: ${r?.error?.message ?? 'no result'}`);
    const l = r.latency;
    const records = recordMeans(host.records('hello', { limit: 200 }));
    const backToBack: InstantiateRow = {
      name: HANDLER_TASK,
      samples: l.samples.length,
      p50Us: (l.p50 ?? NaN) * 1000,
      p99Us: (l.p99 ?? NaN) * 1000,
      meanUs: l.mean * 1000,
      heapBytes: undefined,
      ...(records ? { records } : {}),
    };
    return [backToBack, handlerBetweenSyscalls(call, opts.timeMs)];
  } finally {
    await host.close();
    await rm(dataDir, { recursive: true, force: true });
    trackDir(dataDir, false);
  }
}

const BETWEEN_SYSCALLS_TASK = "(e') (e) with two 1-byte writes to /dev/null between calls, the handler timed alone";

/**
 * Task (e'): the public handler called as in (e), but with two small
 * synchronous writes to /dev/null before each call, timed around the call
 * only. Between two requests a server runs node's HTTP code and the
 * kernel's (a read, a write, an epoll); these two system calls stand in for
 * that in miniature, leaving the handler to start with caches and branch
 * predictors that other code has used. How much slower (e') is than (e)
 * shows how much of the handler's cost comes from the code and data it
 * touches rather than from the work it does: the under-load growth the HTTP
 * bench's timed handler shows, without the HTTP bench's noise.
 */
function handlerBetweenSyscalls(call: () => void, timeMs: number): InstantiateRow {
  const fd = openSync('/dev/null', 'w');
  try {
    const round = (n: number, times?: Float64Array): void => {
      for (let i = 0; i < n; i++) {
        writeSync(fd, 'x');
        writeSync(fd, 'y');
        const t0 = performance.now();
        call();
        if (times) times[i] = performance.now() - t0;
      }
    };
    round(2000); // warm-up
    // Calls that fit the task's time at about 20 µs a call (handler and writes), at most 200,000.
    const n = Math.min(200_000, Math.max(1000, Math.round((timeMs * 1000) / 20)));
    const times = new Float64Array(n);
    round(n, times);
    const sorted = times.slice().sort();
    const sum = times.reduce((a, b) => a + b, 0);
    return {
      name: BETWEEN_SYSCALLS_TASK,
      samples: n,
      p50Us: sorted[Math.floor(n * 0.5)]! * 1000,
      p99Us: sorted[Math.floor(n * 0.99)]! * 1000,
      meanUs: (sum / n) * 1000,
      heapBytes: undefined,
    };
  } finally {
    closeSync(fd);
  }
}

/** No-op functions for every function import, and one shared memory of `memoryPages` for a memory import. */
function noopImports(module: WebAssembly.Module, memoryPages: number | undefined): WebAssembly.Imports {
  const imports: Record<string, Record<string, WebAssembly.ExportValue>> = {};
  for (const i of WebAssembly.Module.imports(module)) {
    const ns = (imports[i.module] ??= {});
    if (i.kind === 'function') ns[i.name] = () => 0;
    else if (i.kind === 'memory' && memoryPages !== undefined) ns[i.name] = new WebAssembly.Memory({ initial: memoryPages });
    else throw new Error(`baseline: cannot fake the ${i.kind} import ${i.module}.${i.name}`);
  }
  return imports;
}

/** `gc()`, exposed at run time so the bench needs no node flag; undefined if V8 refuses. */
function exposeGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

/** `heapUsed` growth per result while `n` results of `fn` are alive, after full GCs. */
async function heapPerInstance(gc: () => void, fn: () => unknown, n: number): Promise<number> {
  const settle = (): number => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const keep: unknown[] = [];
  await fn(); // first-call allocations (feedback vectors, caches) are not per instance
  const before = settle();
  for (let i = 0; i < n; i++) keep.push(await fn());
  const after = settle();
  if (keep.length !== n) throw new Error('unreachable');
  return (after - before) / n;
}

function render(rows: InstantiateRow[], opts: InstantiateOptions, instrumented: boolean): string {
  const base = rows[0];
  const table = markdownTable(
    ['task', 'samples', 'p50 µs', 'p99 µs', 'mean µs', 'p50 × (a)', 'mean × (a)', 'heap KiB / instance'],
    rows.map((r) => [
      r.name,
      String(r.samples),
      num(r.p50Us, 2),
      num(r.p99Us, 2),
      num(r.meanUs, 2),
      ratio(r.p50Us, base?.p50Us),
      ratio(r.meanUs, base?.meanUs),
      num(r.heapBytes === undefined ? undefined : r.heapBytes / 1024, 1),
    ]),
  );
  const notes = [
    `tinybench, ${opts.timeMs} ms per task after warm-up; heap over ${opts.heapInstances} live results (JS heap only: wasm linear memory, 64 KiB a page, is outside it).`,
    instrumented
      ? "Micron runs a deploy-time rewritten copy of hello's main module (Asyncify for blocking-write-and-flush; memory imported from a pool); (a') instantiates that copy with one reused memory, the floor for (b)."
      : '',
    '(b) returns each memory to the pool, as a finished request does (the release zeroes it). (c) includes the request/response resources, the body stream and reading the `Response` body; it releases its instance, so no heap figure. (d) is the instantiate call only (its import object is built once, outside timing).',
    "(e) is everything Micron adds to a request in `micron serve` except node's HTTP work: a Hono app call as @hono/node-server makes it (node's parsed request in `env.incoming`, node-server's lightweight `Response`), with routing, the concurrency slot, the invocation, the record, metrics and the per-invocation log line (built, then dropped by the sink). Compare it with the HTTP bench's calibration rows (bare Hono plus a busy loop of N µs).",
    "(e') is (e) with two 1-byte writes to /dev/null before each call (node's and the kernel's work between two requests, in miniature), the call timed alone: its growth over (e) is what the code and data the handler touches cost when other code ran in between, the effect the HTTP bench's timed handler shows under load.",
    ...rows.filter((r) => r.records).map((r) => `${r.name.slice(0, 3)}'s own invocation records: ${describeMeans(r.records!)} (whole µs each); the HTTP bench gives the same figures under load.`),
  ].filter(Boolean);
  return `## Instantiation (in-process, components/hello)\n\n${table}\n\n${notes.join('\n')}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cleanupOnSignals();
  const quick = process.env.BENCH_QUICK === '1';
  const report = await runInstantiateBench({ timeMs: quick ? 300 : 2000, heapInstances: quick ? 200 : 1000 });
  process.stdout.write(report.markdown);
  process.exit(0);
}
