/**
 * Micron embedded in a plain node:http server, its handler timed: the HTTP
 * bench's way to see what Micron's request path costs *under load*, next to
 * its in-process cost (instantiate bench, task (e)) and to the calibration
 * loops timed the same way (bench/hono-server.ts).
 *
 * It serves what `micron serve` serves for `GET /hello/` (a host from
 * `createHost` with components/hello deployed, its public Hono app behind
 * `@hono/node-server`'s request listener, log lines to stdout), except that
 * the listener times each call of the app with two `performance.now()`
 * reads. hello answers synchronously, so the time covers the whole handler:
 * routing, admission, instance, guest, `Response`, record, metrics, and the
 * log line handed to the batched writer. Node's HTTP work (parsing, writing
 * the response) and what runs after the handler (the log batch's write,
 * GC) are outside it.
 *
 * The stats also carry the means of the last 200 invocation records' own
 * timings (invocation, instance, guest), read at the end of the run.
 *
 * Ready line on stdout: `{"msg":"listening","public":PORT,"stats":PORT}`;
 * `GET /` on the stats port (a side server, so the public app is unchanged)
 * answers {@link HandlerStats}. Data dir: `BENCH_DATA_DIR` (required; the
 * bench removes it). Stops on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getRequestListener } from '@hono/node-server';
import { createHost } from '../host/index.ts';
import { TRUSTED_INCOMING } from '../host/server/public.ts';
import { recordMeans, type RecordMeans } from './record-means.ts';
import { listenStats } from './stats-port.ts';

/** What the stats port answers: totals since start. */
export interface HandlerStats {
  /** Calls of the public app. */
  requests: number;
  /** µs spent in them, timed around each call. */
  handlerUs: number;
  /** The invocation records' own timings, over the last {@link RECORDS} invocations. */
  records: RecordMeans | undefined;
}

/** Records averaged per stats answer (the host keeps 200 per function). */
const RECORDS = 200;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = process.env.BENCH_DATA_DIR;
if (!dataDir) throw new Error('BENCH_DATA_DIR must name a directory for the host');

const host = await createHost({ dataDir, adminToken: 'bench-admin-token-0123' });
await host.deploy('hello', readFileSync(join(ROOT, 'components/hello/hello.wasm')));

// Totals in a typed array: a double kept in a `let` is boxed on every store.
const totals = new Float64Array(2);
const app = host.app;
const timed = (req: Request, env: unknown): Response | Promise<Response> => {
  const t0 = performance.now();
  const res = app.fetch(req, env);
  totals[0]! += performance.now() - t0;
  totals[1]!++;
  return res;
};

const statsPort = await listenStats(
  (): HandlerStats => ({ requests: totals[1]!, handlerUs: totals[0]! * 1000, records: recordMeans(host.records('hello', { limit: RECORDS })) }),
);

// As host.listen() makes its servers (its requests marked as coming straight from node), with the timed listener.
const listener = getRequestListener(timed);
const server = createServer({ maxHeaderSize: host.limits.maxHeaderBytes + 16 * 1024 }, (req, res) => {
  (req as IncomingMessage & { [TRUSTED_INCOMING]?: true })[TRUSTED_INCOMING] = true;
  return listener(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const ports = { public: (server.address() as AddressInfo).port, stats: statsPort };
  process.stdout.write(`${JSON.stringify({ msg: 'listening', ...ports })}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void host.close().then(() => process.exit(0));
});
