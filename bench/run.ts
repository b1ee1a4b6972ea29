/**
 * `npm run bench`: the in-process instantiation bench, the HTTP load bench,
 * then the guest SDK bench (hello in AssemblyScript, Rust and Go), written
 * as one markdown report to bench/results/<date>-core.md and
 * bench/results/latest-core.md (quick runs: `-core-quick.md`, so a smoke
 * run never replaces a real one) and printed.
 *
 * Environment: BENCH_DURATION (measured seconds per HTTP target, default 10;
 * 2 when quick), BENCH_QUICK=1 (short runs everywhere, for a smoke test),
 * BENCH_SPIN_US (the HTTP bench's calibration loops, see bench/http.ts), BENCH_ROUNDS
 * (interleaved measured rounds per HTTP target, default 3).
 * Exits 1 when a bench fails or any HTTP request failed; server children are
 * killed and temporary directories removed on every exit path.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { arch, cpus, loadavg, release, totalmem, type } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupNow, cleanupOnSignals } from './cleanup.ts';
import { roundsFromEnv, runHttpBench, warmupSeconds } from './http.ts';
import { runInstantiateBench } from './instantiate.bench.ts';
import { runSdkBench } from './sdk.bench.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

cleanupOnSignals();

function durationFromEnv(quick: boolean): number {
  const raw = process.env.BENCH_DURATION;
  if (raw === undefined || raw === '') return quick ? 2 : 10;
  const n = Number(raw);
  if (!(n > 0 && n <= 600)) throw new Error(`BENCH_DURATION must be seconds between 0 and 600, got ${JSON.stringify(raw)}`);
  return n;
}

/** Short commit id, marked when host/ or bench/ (results aside) have uncommitted changes; "unknown" outside git. */
function revision(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'host', 'bench', ':!bench/results'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} + uncommitted changes in host/ or bench/` : head;
  } catch {
    return 'unknown';
  }
}

function command(quick: boolean): string {
  const env = [
    quick ? 'BENCH_QUICK=1' : '',
    process.env.BENCH_DURATION ? `BENCH_DURATION=${process.env.BENCH_DURATION}` : '',
    process.env.BENCH_SPIN_US ? `BENCH_SPIN_US=${process.env.BENCH_SPIN_US}` : '',
    process.env.BENCH_ROUNDS ? `BENCH_ROUNDS=${process.env.BENCH_ROUNDS}` : '',
  ].filter(Boolean);
  const cmd = process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : 'node --import ./host/loader/register.mjs bench/run.ts';
  return [...env, cmd].join(' ');
}

async function main(): Promise<number> {
  const quick = process.env.BENCH_QUICK === '1';
  const durationS = durationFromEnv(quick);
  const started = new Date();
  const loadAtStart = loadavg();

  process.stderr.write('bench: instantiation (in-process) …\n');
  const inst = await runInstantiateBench(quick ? { timeMs: 300, heapInstances: 200 } : { timeMs: 2000, heapInstances: 1000 });
  process.stderr.write('bench: HTTP load …\n');
  const httpOptions = { durationS, warmupS: warmupSeconds(quick), connections: 50, rounds: roundsFromEnv(quick) };
  const http = await runHttpBench({ ...httpOptions, quick });
  process.stderr.write('bench: guest SDKs (hello in each language) …\n');
  const sdk = await runSdkBench({ timeMs: quick ? 300 : 2000, http: httpOptions });

  const cpu = cpus();
  const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
  const header = [
    `# Micron core benchmarks${quick ? ' (quick)' : ''}`,
    '',
    `- date: ${started.toISOString()}`,
    `- machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, ${type()} ${release()} ${arch()}`,
    `- node: ${process.version}`,
    `- load average (1, 5, 15 min): ${load(loadAtStart)} at start, ${load(loadavg())} at end`,
    `- code: ${revision()}`,
    `- command: \`${command(quick)}\``,
    '',
    'Machines are shared and noisy: compare the ratios within this report, not absolute figures across reports.',
    '',
  ].join('\n');

  const report = `${header}\n${inst.markdown}\n${http.markdown}\n${sdk.markdown}`;
  const dir = join(ROOT, 'bench/results');
  await mkdir(dir, { recursive: true });
  const suffix = quick ? 'core-quick' : 'core';
  for (const name of [`${started.toISOString().slice(0, 10)}-${suffix}.md`, `latest-${suffix}.md`]) {
    // Write then rename, so a reader never sees half a report (*.tmp is git-ignored).
    const tmp = join(dir, `${name}.tmp`);
    await writeFile(tmp, report);
    await rename(tmp, join(dir, name));
  }
  process.stdout.write(report);
  process.stderr.write(`bench: written to bench/results/latest-${suffix}.md\n`);
  const failures = http.failures + sdk.failures;
  if (failures > 0) {
    process.stderr.write(`bench: ${failures} HTTP requests failed (non-2xx, errors, timeouts or wrong bodies)\n`);
    return 1;
  }
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
} finally {
  cleanupNow();
}
// Exit explicitly: preview2-shim (imported by the jco task) may keep an I/O worker alive.
process.exit(code);
