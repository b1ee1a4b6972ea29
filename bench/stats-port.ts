/**
 * The side port a bench server answers its own measurements on, off its
 * public app so that app's routes stay those of the server being measured.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on a free loopback port, answering every request with `stats()` as JSON; resolves with the port. */
export async function listenStats(stats: () => unknown): Promise<number> {
  const side = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats())));
  await new Promise<void>((ok) => side.listen(0, '127.0.0.1', ok));
  side.unref();
  return (side.address() as AddressInfo).port;
}
