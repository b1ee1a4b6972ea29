/**
 * The per-invocation cost of observation: invocation records, metrics and
 * the host log line, as a throughput ratio against the same host with them
 * off (`createHost({ observe: false })`), measured in the same run.
 *
 * Three hosts in this process, each serving components/hello in-process
 * (`host.fetch`, no HTTP, so the host's own work is as large a share of a
 * request as it can be and the ratio is a worst case):
 *
 * - **off**: `observe: false`;
 * - **records + metrics**: observe on, `MICRON_LOG_LEVEL=warn` (no line for a successful invocation);
 * - **records + metrics + log line**: observe on at info; pino serialises one
 *   JSON line per invocation into a sink that drops it (the cost of building
 *   the line, not of the disk).
 *
 * Each variant runs `CONCURRENCY` request loops for one slice; every round
 * measures each variant once, in a shuffled order, so drift in machine load
 * hits all of them alike. A variant's ratio is the median over rounds of its
 * throughput divided by the `off` throughput of the same round.
 *
 * Beside it, the observation work alone (building the record and
 * `Observer.finish`: metrics, the record ring, the log line) is timed in a
 * tight loop, which a shared, noisy machine disturbs much less.
 *
 * Run: `node --import ./host/loader/register.mjs bench/observe.bench.ts` (BENCH_QUICK=1 for a short
 * run). Prints a markdown section and writes bench/results/latest-observe.md.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHost, type Host, type HostOptions } from '../host/index.ts';
import type { InvocationRecord } from '../host/observe/invocation-record.ts';
import { billedGbS } from '../host/observe/invocation-record.ts';
import { Logger } from '../host/observe/logger.ts';
import { Observer, resolveObserveOptions } from '../host/observe/observer.ts';
import { markdownTable, num } from './table.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HELLO = new Uint8Array(readFileSync(join(ROOT, 'components/hello/hello.wasm')));
const EXPECTED = 'Hello from Micron!\n';
const CONCURRENCY = 16;

/** Options of {@link runObserveBench}. */
export interface ObserveBenchOptions {
  /** Length of one measured slice, ms. */
  sliceMs: number;
  /** Rounds (each variant measured once per round). */
  rounds: number;
}

interface Variant {
  name: string;
  host: Host;
  dir: string;
  /** Requests per wall-clock second, per round. */
  perSecond: number[];
  /** Process CPU time (all threads: GC included) per request, µs, per round. */
  cpuUs: number[];
}

async function variant(name: string, options: HostOptions, logLevel: string): Promise<Variant> {
  const dir = mkdtempSync(join(tmpdir(), 'micron-bench-observe-'));
  const saved = process.env.MICRON_LOG_LEVEL;
  process.env.MICRON_LOG_LEVEL = logLevel;
  try {
    const host = await createHost({ dataDir: dir, adminToken: 'bench-admin-token-0123', ...options });
    await host.deploy('hello', HELLO);
    return { name, host, dir, perSecond: [], cpuUs: [] };
  } finally {
    if (saved === undefined) delete process.env.MICRON_LOG_LEVEL;
    else process.env.MICRON_LOG_LEVEL = saved;
  }
}

/** Runs request loops against `host` for `ms`; returns requests per second and CPU µs per request. */
async function slice(host: Host, ms: number): Promise<{ perSecond: number; cpuUs: number }> {
  const end = performance.now() + ms;
  let n = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      const res = await host.fetch(new Request('http://localhost/hello/'));
      const body = await res.text();
      if (res.status !== 200 || body !== EXPECTED) throw new Error(`unexpected answer ${res.status} ${JSON.stringify(body)}`);
      n++;
    }
  };
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  const cpu = process.cpuUsage(c0);
  return { perSecond: n / ((performance.now() - t0) / 1000), cpuUs: (cpu.user + cpu.system) / n };
}

/** µs per invocation of the observation work alone: as the runtime does it, without and with the log line. */
async function observationAlone(n: number): Promise<{ withoutLine: number; withLine: number }> {
  const stats = { entries: 1, bytes: 1, budget: 1, hits: 0, misses: 0, evictions: 0 };
  const measure = (logger: Logger): number => {
    const obs = new Observer(resolveObserveOptions(undefined), logger, () => stats, () => 1);
    const logs: InvocationRecord['logs'] = [];
    const run = (count: number): number => {
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        const s = obs.begin('hello');
        const started = performance.now();
        const elapsed = performance.now() - started;
        const totalUs = Math.round(elapsed * 1000) + 40;
        obs.finish(s, {
          seq: 0,
          startedAt: Math.round(Date.now() - elapsed),
          requestId: '0123456789abcd',
          function: 'hello',
          version: 'v1',
          status: 200,
          outcome: 'ok',
          totalUs,
          loadUs: 0,
          instantiateUs: 12,
          guestUs: 20,
          cold: false,
          memoryPages: 1,
          bytesIn: 0,
          bytesOut: 19,
          billedGbS: billedGbS(1, totalUs),
          logs,
          logDropped: 0,
          detail: undefined,
        });
      }
      return ((performance.now() - t0) * 1000) / count;
    };
    run(Math.min(n, 20_000)); // warm-up
    return median([run(n), run(n), run(n)]);
  };
  let sink = 0;
  const withoutLine = measure(new Logger(() => sink++, 'warn'));
  const withLine = measure(new Logger(() => sink++, 'info'));
  return { withoutLine, withLine };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs the bench; returns the markdown section. */
export async function runObserveBench(opts: ObserveBenchOptions): Promise<{ markdown: string; ratios: Record<string, number> }> {
  let lines = 0;
  const variants = [
    await variant('off (`observe: false`)', { observe: false, log: false }, 'info'),
    await variant('records + metrics', { log: () => lines++ }, 'warn'),
    await variant('records + metrics + log line', { log: () => lines++ }, 'info'),
  ];
  try {
    // Warm-up: JIT, pools and caches of every host.
    for (const v of variants) await slice(v.host, Math.min(500, opts.sliceMs));
    for (let r = 0; r < opts.rounds; r++) {
      const order = [...variants].sort(() => Math.random() - 0.5);
      for (const v of order) {
        const x = await slice(v.host, opts.sliceMs);
        v.perSecond[r] = x.perSecond;
        v.cpuUs[r] = x.cpuUs;
      }
    }
    // Scrape once so the metrics path is known to work with what was counted.
    const scrape = await variants[2]!.host.adminFetch(new Request('http://x/metrics', { headers: { authorization: 'Bearer bench' } }));
    if (!(await scrape.text()).includes('micron_requests_total{function="hello",class="2xx"}')) throw new Error('metrics did not count the requests');
    if (lines === 0) throw new Error('the log-line variant wrote no line');
  } finally {
    for (const v of variants) {
      await v.host.close();
      rmSync(v.dir, { recursive: true, force: true });
    }
  }
  const off = variants[0]!;
  const base = median(off.perSecond);
  const ratios: Record<string, number> = {};
  const rows = variants.map((v) => {
    const wall = median(v.perSecond.map((x, i) => x / off.perSecond[i]!));
    // CPU-bound throughput is 1 / CPU per request: the ratio of the off variant's CPU to this one's.
    const cpu = median(v.cpuUs.map((x, i) => off.cpuUs[i]! / x));
    // The least disturbed slice of each variant (the usual microbenchmark minimum).
    const best = Math.min(...off.cpuUs) / Math.min(...v.cpuUs);
    ratios[v.name] = best;
    return [
      v.name,
      num(median(v.perSecond), 0),
      `${wall.toFixed(3)}×`,
      num(median(v.cpuUs), 2),
      `${cpu.toFixed(3)}×`,
      num(Math.min(...v.cpuUs), 2),
      `${best.toFixed(3)}×`,
      v === off ? '—' : `${((1 - best) * 100).toFixed(1)}%`,
    ];
  });
  const alone = await observationAlone(opts.rounds * 20_000);
  const perRequestUs = median(off.cpuUs);
  void base;
  const markdown = [
    '## Observation overhead (in-process, `bench/observe.bench.ts`)',
    '',
    `hello through \`host.fetch\` (no HTTP), ${CONCURRENCY} concurrent request loops, ${opts.rounds} rounds of ${opts.sliceMs} ms slices, each round measuring every variant once in a shuffled order. Ratios are medians over rounds of the variant's figure against the \`off\` figure of the same round. Wall-clock req/s moves with whatever else the machine runs; CPU time per request (process.cpuUsage, all threads, so GC is included) much less, and the least disturbed slice least of all, so the throughput cost is taken from the best slices' CPU time. Machine: ${cpus().length}× ${cpus()[0]?.model ?? 'unknown CPU'}, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at the end, node ${process.version}.`,
    '',
    markdownTable(
      ['variant', 'req/s', 'req/s vs off', 'CPU µs/req (median)', 'CPU throughput vs off (paired median)', 'CPU µs/req (best slice)', 'vs off (best)', 'throughput cost (best)'],
      rows,
    ),
    '',
    'The observation work alone, timed in a tight loop (record built, then metrics, record ring and log line):',
    '',
    markdownTable(
      ['work per invocation', 'µs', 'share of a request with observation off'],
      [
        ['record + metrics + ring', num(alone.withoutLine, 3), `${((alone.withoutLine / perRequestUs) * 100).toFixed(1)}%`],
        ['… + log line (pino, info)', num(alone.withLine, 3), `${((alone.withLine / perRequestUs) * 100).toFixed(1)}%`],
      ],
    ),
    '',
    `A request with observation off took ${num(perRequestUs, 1)} µs of CPU (median).`,
  ].join('\n');
  return { markdown, ratios };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const quick = process.env.BENCH_QUICK === '1';
  const { markdown } = await runObserveBench(quick ? { sliceMs: 200, rounds: 6 } : { sliceMs: 250, rounds: 40 });
  process.stdout.write(`${markdown}\n`);
  if (!quick) {
    await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
    await writeFile(join(ROOT, 'bench', 'results', 'latest-observe.md'), `# Observation overhead\n\n${new Date().toISOString()}\n\n${markdown}\n`);
  }
}
