/**
 * The HTTP bench's baseline server: bare Hono on @hono/node-server answering
 * every request with hello's body. Prints the same ready line as
 * `micron serve` (`{"msg":"listening","public":PORT}`) and stops on SIGTERM.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.all('*', (c) => c.text('Hello from Micron!\n'));

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', public: info.port })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
