/**
 * The HTTP bench's baseline server: bare Hono on @hono/node-server answering
 * every request with hello's body. Prints the same ready line as
 * `micron serve` (`{"msg":"listening","public":PORT}`) and stops on SIGTERM.
 *
 * Calibration mode (`BENCH_SPIN_US=N`): before answering, the handler runs a
 * busy loop of about N µs: integer arithmetic on locals, nothing allocated.
 * It shows what any handler costing N µs of CPU gets over HTTP on this
 * machine, whatever that work is. The body, headers and routes of the public
 * app stay those of the plain server.
 *
 * The loop's iteration count is calibrated at start, after a warm-up, then
 * kept at N µs from the loop's own timings in the handler: V8 compiles the
 * loop again when it inlines it into Hono's request path, and how fast that
 * code runs depends on the code around it. (An earlier version of this
 * server with one more route on the app, for its statistics, ran the
 * inlined loop 3–4× slower per iteration than calibrated, with sequential
 * requests as well as under load, and at the calibrated speed with
 * `--no-turbo-inlining`.) So the statistics are served on a side port,
 * printed in the ready line as `"stats":PORT`, where `GET /` answers
 * {@link SpinStats}: totals since start, which the bench reads before and
 * after its measured run.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { listenStats } from './stats-port.ts';

/** What a calibration server answers on its side port: totals since it started. */
export interface SpinStats {
  /** The loop's requested time per request, µs (`BENCH_SPIN_US`). */
  targetUs: number;
  /** Requests whose handler ran the loop. */
  requests: number;
  /** µs spent in the loop over those requests, timed in the handler. */
  spunUs: number;
  /** Iterations per request calibrated at start, outside the handler. */
  idleIterations: number;
  /** Iterations per request now, kept at `targetUs` from the handler's timings. */
  iterations: number;
}

const BODY = 'Hello from Micron!\n';
/** Handler loops per re-tuning of the iteration count. */
const RETUNE_EVERY = 500;

const targetUs = Number(process.env.BENCH_SPIN_US ?? 0);
if (!(targetUs >= 0 && targetUs <= 10_000)) throw new Error(`BENCH_SPIN_US must be µs between 0 and 10000, got ${process.env.BENCH_SPIN_US}`);

// The loop's result and the handler's timings live in typed arrays: a double
// (or an int32 beyond a small integer) stored in a `let` is boxed on every
// store. The handler then allocates only the two numbers performance.now()
// returns (boxed by the native call), beside the kilobyte or so node and Hono
// allocate per request.
/** The loop's last value, kept so that it cannot be optimised away. */
const sink = new Int32Array(1);
/** [µs in the loop since start, µs in the loop in the current re-tuning window]. */
const spun = new Float64Array(2);

/** `n` rounds of a linear congruential step: pure CPU, nothing allocated. */
function spin(n: number): void {
  let x = sink[0]!;
  for (let i = 0; i < n; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  sink[0] = x;
}

/** Iterations of {@link spin} that take about `us` µs here, measured after the loop is optimised. */
function calibrate(us: number): number {
  for (let i = 0; i < 200; i++) spin(10_000);
  const n = 2_000_000;
  const t0 = performance.now();
  spin(n);
  const perIterationUs = ((performance.now() - t0) * 1000) / n;
  return Math.max(1, Math.round(us / perIterationUs));
}

const idleIterations = targetUs > 0 ? calibrate(targetUs) : 0;
let iterations = idleIterations;
let spins = 0;
let windowSpins = 0;

/** The handler's loop: {@link spin}, timed, its iteration count re-tuned every {@link RETUNE_EVERY} calls. */
function timedSpin(): void {
  const t0 = performance.now();
  spin(iterations);
  const us = (performance.now() - t0) * 1000;
  spun[0]! += us;
  spun[1]! += us;
  spins++;
  if (++windowSpins === RETUNE_EVERY) retune();
}

/**
 * Scales the iteration count so the last window's loops would have taken
 * `targetUs` each; at most 2× per window, so one disturbed window (an
 * interrupt, a preemption) cannot throw the count far off.
 */
function retune(): void {
  const measuredUs = spun[1]! / windowSpins;
  const factor = Math.min(2, Math.max(0.5, targetUs / measuredUs));
  iterations = Math.max(1, Math.round(iterations * factor));
  spun[1] = 0;
  windowSpins = 0;
}

/** This server's totals, as the side port answers them. */
function stats(): SpinStats {
  return { targetUs, requests: spins, spunUs: spun[0]!, idleIterations, iterations };
}

const app = new Hono();
if (targetUs > 0) {
  app.all('*', (c) => {
    timedSpin();
    return c.text(BODY);
  });
} else {
  app.all('*', (c) => c.text(BODY));
}

const statsPort = targetUs > 0 ? await listenStats(stats) : undefined;
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', public: info.port, ...(statsPort === undefined ? {} : { stats: statsPort }) })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
