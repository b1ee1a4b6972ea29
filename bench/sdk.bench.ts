/**
 * The hello example of each guest SDK (components/as-hello, rust-hello,
 * go-hello, as committed), side by side, every figure also given as a ratio
 * to the AssemblyScript hello measured in the same run:
 *
 * 1. size: the component, and its main core module (the guest's code);
 * 2. in-process instantiate + handle (tinybench), deployed as the host
 *    deploys it (`Compiler#build` then `#load`): for the wasi:http
 *    components a whole `Invocation#run` with the response body read, as
 *    bench/instantiate.bench.ts task (c); for the Go command, what the host's
 *    runtime calls, `CommandRunner#run` (CGI environment, snapshot resume,
 *    handler, stdout parsed);
 * 3. HTTP req/s over loopback: `micron serve` with that one hello deployed,
 *    loaded with autocannon by the machinery of bench/http.ts (same pinning,
 *    body checks and CPU accounting).
 *
 * Setup (build, instrument, compile, snapshot) is outside timing. Run alone:
 * `node --import ./host/loader/register.mjs bench/sdk.bench.ts` (BENCH_QUICK=1, BENCH_DURATION=s).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { WitRegistry } from '../host/abi/wit.ts';
import { Compiler, type LoadedComponent } from '../host/compile/compiler.ts';
import { readComponent } from '../host/compile/component-binary.ts';
import { DEFAULT_LIMITS } from '../host/config.ts';
import { guestPolicy } from '../host/runtime/runtime.ts';
import { findCommandModule, type CommandRequest } from '../host/runtime/command-runner.ts';
import { Invocation, type GuestRequest } from '../host/runtime/invocation.ts';
import { hostInterfaces } from '../host/wasi/imports.ts';
import { cleanupNow, cleanupOnSignals } from './cleanup.ts';
import { httpFailures, loadNote, micronTarget, perServerCpu, roundsFromEnv, runHttpTargets, warmupSeconds, type HttpOptions, type HttpRow } from './http.ts';
import { markdownTable, num, ratio } from './table.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** One SDK's hello: where it is and what it answers. The first is the baseline. */
interface Hello {
  sdk: string;
  name: string;
  body: string;
}

const HELLOS: readonly Hello[] = [
  { sdk: 'AssemblyScript', name: 'as-hello', body: 'Hello from AssemblyScript!\n' },
  { sdk: 'Rust', name: 'rust-hello', body: 'Hello from Rust!\n' },
  { sdk: 'Go', name: 'go-hello', body: 'Hello from Go!\n' },
];

/** Options of {@link runSdkBench}. */
export interface SdkBenchOptions {
  /** tinybench measuring time per task, ms. */
  timeMs: number;
  /** The HTTP load; undefined skips it. */
  http: HttpOptions | undefined;
}

/** One hello's figures. */
export interface SdkRow {
  sdk: string;
  name: string;
  componentBytes: number;
  /** Bytes of the core module that holds the guest's code (the handler's, or the Go command module). */
  coreBytes: number;
  /** How the host runs it: `reused`/`pooled-memory`/`fresh` (wasi:http) or `snapshot`/`fresh` (command). */
  mode: string;
  samples: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  http: HttpRow | undefined;
}

/** The rows, the markdown section and the count of failed HTTP requests. */
export interface SdkReport {
  rows: SdkRow[];
  markdown: string;
  failures: number;
}

/** A prepared hello: its per-request function and what the host would call its mode. */
interface Runnable {
  mode: string;
  coreBytes: number;
  run: () => Promise<void>;
}

/** Deploys `bytes` as the registry does (build, then load) and returns one request's worth of work. */
async function prepare(compiler: Compiler, hello: Hello, bytes: Uint8Array): Promise<Runnable> {
  const built = await compiler.build(bytes);
  const loaded = await compiler.load(bytes, built.meta, (n) => built.files.get(n));
  const check = (status: number, body: string): void => {
    if (status !== 200 || body !== hello.body) throw new Error(`${hello.name} answered ${status} ${JSON.stringify(body.slice(0, 200))}`);
  };

  if (loaded.command) {
    const runner = loaded.command;
    const core = findCommandModule(readComponent(bytes).modules);
    const decoder = new TextDecoder();
    const request = (): CommandRequest => ({ method: 'GET', url: new URL('http://localhost/'), headers: [], body: new Uint8Array(0), env: {}, requestId: 'bench' });
    return {
      mode: runner.modeFor({}),
      coreBytes: core?.byteLength ?? NaN,
      run: async () => {
        const out = await runner.run(request());
        check(out.status, decoder.decode(out.body));
      },
    };
  }

  const prepared = loaded.prepared;
  const policy = guestPolicy(DEFAULT_LIMITS);
  const request = (): GuestRequest => ({ method: 'GET', pathWithQuery: '/', scheme: 'http', authority: 'localhost', headers: [], body: null, maxBodyBytes: 0 });
  return {
    mode: prepared.mode,
    coreBytes: mainModuleBytes(loaded.plan, bytes),
    run: async () => {
      const inv = new Invocation(prepared, 'bench', policy);
      const { response, done } = inv.run(request(), DEFAULT_LIMITS.deadlineMs);
      const res = await response;
      const body = await res.text();
      await done;
      check(res.status, body);
    },
  };
}

/** Bytes of the core module that exports the handler (not wit-component's small shim modules). */
function mainModuleBytes(plan: LoadedComponent['plan'], bytes: Uint8Array): number {
  const step = plan?.steps[plan.entry.instance];
  return step?.kind === 'instantiate' ? (readComponent(bytes).modules[step.module]?.byteLength ?? NaN) : NaN;
}

/** Runs the three parts described in the file comment. */
export async function runSdkBench(opts: SdkBenchOptions): Promise<SdkReport> {
  const wit = WitRegistry.fromDirectory(join(ROOT, 'wit'));
  const compiler = new Compiler(wit, hostInterfaces(wit));
  const files = HELLOS.map((h) => join(ROOT, 'components', h.name, `${h.name}.wasm`));
  const components = files.map((f) => new Uint8Array(readFileSync(f)));
  const runnables: Runnable[] = [];
  for (const [i, hello] of HELLOS.entries()) {
    const runnable = await prepare(compiler, hello, components[i]!);
    await runnable.run(); // fails early on a wrong answer, and takes first-call costs out of the samples
    runnables.push(runnable);
  }

  process.stderr.write('sdk: in-process instantiate + handle …\n');
  const bench = new Bench({ time: opts.timeMs, warmupTime: Math.max(100, opts.timeMs / 4), throws: true });
  for (const [i, hello] of HELLOS.entries()) bench.add(hello.name, runnables[i]!.run);
  await bench.run();

  const http = opts.http
    ? await runHttpTargets(
        HELLOS.map((h, i) => micronTarget(`Micron: ${h.name}`, { file: files[i]!, fn: h.name, expectedBody: h.body })),
        opts.http,
      )
    : undefined;

  const rows: SdkRow[] = HELLOS.map((hello, i) => {
    const r = bench.getTask(hello.name)?.result;
    if (!r || r.error) throw new Error(`${hello.name} failed: ${r?.error?.message ?? 'no result'}`);
    return {
      sdk: hello.sdk,
      name: hello.name,
      componentBytes: components[i]!.byteLength,
      coreBytes: runnables[i]!.coreBytes,
      mode: runnables[i]!.mode,
      samples: r.latency.samples.length,
      p50Us: (r.latency.p50 ?? NaN) * 1000,
      p99Us: (r.latency.p99 ?? NaN) * 1000,
      meanUs: r.latency.mean * 1000,
      http: http?.[i],
    };
  });
  return { rows, markdown: render(rows, opts), failures: http ? httpFailures(http) : 0 };
}

function render(rows: readonly SdkRow[], opts: SdkBenchOptions): string {
  const base = rows[0];
  const bytes = (n: number): string => (Number.isFinite(n) ? n.toLocaleString('en-US') : '—');
  const size = markdownTable(
    ['hello', 'SDK', 'component bytes', '× as-hello', 'main core module bytes', '× as-hello'],
    rows.map((r) => [r.name, r.sdk, bytes(r.componentBytes), ratio(r.componentBytes, base?.componentBytes), bytes(r.coreBytes), ratio(r.coreBytes, base?.coreBytes)]),
  );
  const inProcess = markdownTable(
    ['hello', 'mode', 'samples', 'p50 µs', 'p99 µs', 'mean µs', 'p50 × as-hello', 'mean × as-hello'],
    rows.map((r) => [r.name, r.mode, String(r.samples), num(r.p50Us, 1), num(r.p99Us, 1), num(r.meanUs, 1), ratio(r.p50Us, base?.p50Us), ratio(r.meanUs, base?.meanUs)]),
  );
  const sections = [
    '## Guest SDKs: hello in each language',
    '',
    'Every ratio is to `as-hello` measured in the same run.',
    '',
    '### Size (as committed in components/)',
    '',
    size,
    '',
    "Main core module: the guest's code, the module that exports the handler (for the Go command, the preview1 module inside the `wasi:cli/run` component, which the host runs without the adapter). The rest of a component is WIT type information, wit-component's shim modules and, for Go, the adapter.",
    '',
    '### In-process instantiate + handle (tinybench)',
    '',
    inProcess,
    '',
    `tinybench, ${opts.timeMs} ms per task after warm-up, back to back in one process. as-hello and rust-hello: a whole \`Invocation#run\` ` +
      '(bench/instantiate.bench.ts task (c)), mode as the host chose it at deploy. go-hello: `CommandRunner#run` as the runtime calls it; in `snapshot` ' +
      "mode a request resumes the post-init image, and back to back the previous request's write-back runs inside the next one " +
      '(bench/go-command.bench.ts separates the two).',
    '',
  ];
  if (rows.every((r) => r.http)) {
    const h = (r: SdkRow): HttpRow => r.http!;
    const httpTable = markdownTable(
      ['hello', 'req/s', 'req/s × as-hello', 'req per server CPU-s', '× as-hello', 'p50 ms', 'p99 ms', 'p50 × as-hello', 'failed requests', 'server CPU (cores)', 'client CPU (cores)'],
      rows.map((r) => [
        r.name,
        num(h(r).rps, 0),
        ratio(h(r).rps, base?.http?.rps),
        num(perServerCpu(h(r)), 0),
        ratio(perServerCpu(h(r)), perServerCpu(base?.http)),
        num(h(r).p50Ms, 2),
        num(h(r).p99Ms, 2),
        ratio(h(r).p50Ms, base?.http?.p50Ms),
        String(h(r).non2xx + h(r).errors + h(r).timeouts + h(r).mismatches),
        num(h(r).serverCores, 2),
        num(h(r).clientCores, 2),
      ]),
    );
    sections.push(
      '### HTTP load: `micron serve` with one hello deployed (loopback, autocannon)',
      '',
      httpTable,
      '',
      `${loadNote(opts.http!)} Each hello in its own fresh \`micron serve\`, loaded at \`/<name>/\`; every body is checked.`,
      '',
    );
  }
  return sections.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cleanupOnSignals();
  const quick = process.env.BENCH_QUICK === '1';
  const durationS = Number(process.env.BENCH_DURATION || (quick ? 2 : 10));
  let code = 1;
  try {
    const report = await runSdkBench({ timeMs: quick ? 300 : 2000, http: { durationS, warmupS: warmupSeconds(quick), connections: 50, rounds: roundsFromEnv(quick) } });
    process.stdout.write(report.markdown);
    code = report.failures > 0 ? 1 : 0;
  } finally {
    cleanupNow();
  }
  // Exit explicitly: worker threads (instrumentation) may keep the process alive.
  process.exit(code);
}
