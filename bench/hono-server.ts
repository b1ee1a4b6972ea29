/**
 * The HTTP bench's baseline server: bare Hono on @hono/node-server answering
 * every request with hello's body. Prints the same ready line as
 * `micron serve` (`{"msg":"listening","public":PORT}`) and stops on SIGTERM.
 *
 * Calibration mode (`BENCH_SPIN_US=N`): before answering, the handler runs a
 * busy loop of about N µs: integer arithmetic on locals, no allocation, no
 * memory beyond a few registers. It shows what any handler costing N µs of
 * CPU gets over HTTP on this machine, whatever that work is. The loop's
 * iteration count is calibrated at start after a warm-up; the time it really
 * took per request is answered at `GET /__spin` as `{"us":…,"requests":…}`
 * (that request does not spin).
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const spinUs = Number(process.env.BENCH_SPIN_US ?? 0);
let sink = 0;

/** `n` rounds of a linear congruential step: pure CPU, nothing allocated. */
function spin(n: number): void {
  let x = sink;
  for (let i = 0; i < n; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  sink = x;
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

const iterations = spinUs > 0 ? calibrate(spinUs) : 0;
let spunMs = 0;
let spins = 0;

const app = new Hono();
if (spinUs > 0) {
  app.get('/__spin', (c) => c.json({ us: spins === 0 ? 0 : (spunMs * 1000) / spins, requests: spins }));
  app.all('*', (c) => {
    const t0 = performance.now();
    spin(iterations);
    spunMs += performance.now() - t0;
    spins++;
    return c.text('Hello from Micron!\n');
  });
} else {
  app.all('*', (c) => c.text('Hello from Micron!\n'));
}

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', public: info.port })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
