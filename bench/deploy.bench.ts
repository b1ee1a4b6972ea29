/**
 * How long a deploy takes, with the deploy-time rewriting worker (binaryen)
 * started afresh for each deploy ("cold": what every deploy paid before the
 * worker was shared, and what the first deploy after an idle spell still
 * pays) against the shared worker kept across deploys ("warm"). Ratios are
 * warm to cold, measured in the same run, in rounds that alternate the two.
 *
 * Each deploy goes through `host.deploy` (validation, jco transpile, the
 * rewrite, compile, the store's atomic writes) with bytes no earlier deploy
 * had: a custom section carrying a counter is appended to the component, so
 * the content-addressed store cannot reuse an earlier artifact.
 *
 * Run: `node --import ./host/loader/register.mjs bench/deploy.bench.ts`
 * (BENCH_QUICK=1 for a short run). Writes bench/results/latest-deploy.md.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INSTRUMENT_IDLE_MS, setInstrumentWorkerIdleMs } from '../host/compile/instrument.ts';
import { createHost } from '../host/index.ts';
import { cleanupOnSignals, trackDir } from './cleanup.ts';
import { markdownTable, num, ratio, reportHeader } from './table.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.env.BENCH_QUICK === '1';
const ROUNDS = quick ? 2 : 5;
const COMPONENTS = ['hello', 'as-hello', 'rust-hello'] as const;
type Mode = 'cold' | 'warm';

cleanupOnSignals();

/** `bytes` with a custom section `micron-bench` holding `n` appended: a component no deploy has seen. */
function unique(bytes: Uint8Array, n: number): Uint8Array {
  const name = new TextEncoder().encode('micron-bench');
  const payload = new TextEncoder().encode(`${process.pid}:${n}`);
  const body = [name.length, ...name, ...payload];
  if (body.length > 127) throw new Error('section too long for a one-byte size');
  return Uint8Array.from([...bytes, 0x00, body.length, ...body]);
}

const sources = new Map(COMPONENTS.map((c) => [c, new Uint8Array(readFileSync(join(ROOT, 'components', c, `${c}.wasm`)))]));
const dataDir = await mkdtemp(join(tmpdir(), 'micron-bench-deploy-'));
trackDir(dataDir);
const host = await createHost({ dataDir, adminToken: 'bench-admin-token-0123', log: false, observe: false });
const samples = new Map<string, number[]>();
let counter = 0;
try {
  // One warm-up deploy of each, untimed: jco's first load and the first worker are not what is compared.
  for (const c of COMPONENTS) await host.deploy(c, unique(sources.get(c)!, counter++));
  for (let round = 0; round < ROUNDS; round++) {
    const modes: Mode[] = round % 2 === 0 ? ['cold', 'warm'] : ['warm', 'cold'];
    for (const mode of modes) {
      // Cold: the worker is ended as soon as it is idle, so each deploy starts one.
      setInstrumentWorkerIdleMs(mode === 'cold' ? 0 : INSTRUMENT_IDLE_MS);
      if (mode === 'cold') await new Promise((r) => setTimeout(r, 50));
      // Warm: one untimed deploy first, so the worker is running (a cold phase before ended it).
      else await host.deploy('warm-up', unique(sources.get('hello')!, counter++));
      for (const c of COMPONENTS) {
        const bytes = unique(sources.get(c)!, counter++);
        const t0 = performance.now();
        await host.deploy(c, bytes);
        const ms = performance.now() - t0;
        const key = `${c}/${mode}`;
        samples.set(key, [...(samples.get(key) ?? []), ms]);
        if (mode === 'cold') await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
} finally {
  setInstrumentWorkerIdleMs(INSTRUMENT_IDLE_MS);
  await host.close();
  await rm(dataDir, { recursive: true, force: true });
  trackDir(dataDir, false);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1]!;
};
const rows = COMPONENTS.map((c) => {
  const cold = median(samples.get(`${c}/cold`)!);
  const warm = median(samples.get(`${c}/warm`)!);
  return [c, num(sources.get(c)!.length, 0), num(cold, 0), num(warm, 0), ratio(warm, cold)];
});
const markdown = [
  ...reportHeader('Deploy time', `${quick ? 'BENCH_QUICK=1 ' : ''}node --import ./host/loader/register.mjs bench/deploy.bench.ts`),
  `\`host.deploy\` of bytes no deploy had before (validation, jco transpile, binaryen rewrite, compile, atomic store writes), ms; the median of ${ROUNDS} rounds, the two modes alternating. ` +
    '*cold*: the rewriting worker is started for the deploy and ended after it (every deploy before the worker was shared; the first deploy after 10 s without one, now). ' +
    '*warm*: the shared worker, already running.',
  '',
  markdownTable(['component', 'bytes', 'cold ms', 'warm ms', 'warm × cold'], rows),
  '',
].join('\n');
process.stdout.write(`${markdown}\n`);
await mkdir(join(ROOT, 'bench/results'), { recursive: true });
await writeFile(join(ROOT, 'bench/results', quick ? 'latest-deploy-quick.md' : 'latest-deploy.md'), markdown);
