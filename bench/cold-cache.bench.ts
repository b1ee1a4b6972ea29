/**
 * How much of a request's cost under HTTP load is the invocation running
 * with cold CPU caches. In-process benches call the same invocation back to
 * back, so its code, its instance memory and its host objects stay in L1/L2;
 * in a server, node's HTTP code, the kernel's network stack and V8's GC run
 * between two invocations. This bench times `Invocation.start` of
 * components/hello (the whole request as the server runs it) with N bytes of
 * unrelated memory read between invocations (one byte per 64-byte line of a
 * buffer larger than the caches), untimed, and reports the ratio to N = 0
 * measured in the same run, in rounds that alternate the sizes.
 *
 * Run: `node --import ./host/loader/register.mjs bench/cold-cache.bench.ts`
 * (BENCH_QUICK=1 for a short run). Writes bench/results/latest-cold-cache.md.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WitRegistry } from '../host/abi/wit.ts';
import { Compiler } from '../host/compile/compiler.ts';
import { DEFAULT_LIMITS } from '../host/config.ts';
import { guestPolicy } from '../host/runtime/runtime.ts';
import { Invocation, type GuestRequest } from '../host/runtime/invocation.ts';
import { hostInterfaces } from '../host/wasi/imports.ts';
import { markdownTable, num, ratio, reportHeader } from './table.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SIZES_KIB = [0, 256, 1024, 4096];
const quick = process.env.BENCH_QUICK === '1';
const ROUNDS = quick ? 3 : 9;
const PER_ROUND = quick ? 2000 : 10000;

const bytes = new Uint8Array(readFileSync(join(ROOT, 'components/hello/hello.wasm')));
const wit = WitRegistry.fromDirectory(join(ROOT, 'wit'));
const compiler = new Compiler(wit, hostInterfaces(wit));
const built = await compiler.build(bytes);
const prepared = (await compiler.load(bytes, built.meta, (n) => built.files.get(n))).prepared;
const policy = guestPolicy(DEFAULT_LIMITS);
const request = (): GuestRequest => ({ method: 'GET', pathWithQuery: '/', scheme: 'http', authority: 'localhost', headers: [], body: null, maxBodyBytes: 0 });

function invoke(): void {
  const inv = new Invocation(prepared, 'bench', policy);
  let finished = false;
  const r = inv.start(request(), DEFAULT_LIMITS.deadlineMs, () => (finished = true));
  if (!(r instanceof Response) || !finished || inv.outcome?.kind !== 'ok') throw new Error(`hello failed: ${JSON.stringify(inv.outcome)}`);
}

const junk = new Uint8Array(64 << 20);
for (let i = 0; i < junk.length; i += 4096) junk[i] = i & 0xff; // fault the pages in
let sink = 0;
let cursor = 0;
/** Reads `n` bytes' worth of cache lines of `junk`, continuing where the last call stopped. */
function sweep(n: number): void {
  for (let k = 0; k < n; k += 64) {
    sink += junk[cursor]!;
    cursor = (cursor + 64) % junk.length;
  }
}

/** Mean µs per invocation with `kib` KiB swept before each one. */
function measure(kib: number, n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    sweep(kib << 10);
    const t0 = performance.now();
    invoke();
    total += performance.now() - t0;
  }
  return (total * 1000) / n;
}

for (const kib of SIZES_KIB) measure(kib, PER_ROUND / 4); // warm-up: JIT tiers, pool
const samples = new Map<number, number[]>(SIZES_KIB.map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? SIZES_KIB : [...SIZES_KIB].reverse();
  for (const kib of order) samples.get(kib)!.push(measure(kib, PER_ROUND));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(samples.get(0)!);
const rows = SIZES_KIB.map((kib) => {
  const m = median(samples.get(kib)!);
  return [kib === 0 ? '0 (back to back, hot caches)' : `${kib.toLocaleString('en-US')} KiB`, num(m, 2), ratio(m, base)];
});
const markdown = [
  ...reportHeader('Invocation cost with cold caches', `${quick ? 'BENCH_QUICK=1 ' : ''}node --import ./host/loader/register.mjs bench/cold-cache.bench.ts`),
  `components/hello, \`Invocation.start\` (instance, request and response resources, guest, \`Response\`), mean µs per invocation; the median over ${ROUNDS} rounds of ${PER_ROUND.toLocaleString('en-US')} invocations per size, sizes alternating in order between rounds. Before each invocation, untimed, one byte per 64-byte line of that much unrelated memory is read.`,
  '',
  markdownTable(['memory read between invocations', 'µs per invocation', '× back to back'], rows),
  '',
].join('\n');
process.stdout.write(`${markdown}\n`);
if (sink < 0) throw new Error('unreachable: keeps the sweep from being optimised away');
await mkdir(join(ROOT, 'bench/results'), { recursive: true });
await writeFile(join(ROOT, 'bench/results', quick ? 'latest-cold-cache-quick.md' : 'latest-cold-cache.md'), markdown);
