/**
 * Serves the dashboard on the admin listener: `GET /` (the page) and
 * `GET /dashboard/app.js` (the committed esbuild bundle). Both are static and
 * carry no secret, so they need no token; every API call the page makes does.
 * A strict Content-Security-Policy allows only this origin's script.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';

const DIR = dirname(fileURLToPath(import.meta.url));
const CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

let files: { html: string; js: string } | undefined;

/** Adds the dashboard routes to the admin app. */
export function mountDashboard(app: Hono): void {
  const load = () => (files ??= { html: readFileSync(join(DIR, 'index.html'), 'utf8'), js: readFileSync(join(DIR, 'app.bundle.js'), 'utf8') });
  const headers = { 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache', 'referrer-policy': 'no-referrer' };
  app.get('/', () => new Response(load().html, { headers: { ...headers, 'content-type': 'text/html; charset=utf-8' } }));
  app.get('/dashboard/app.js', () => new Response(load().js, { headers: { ...headers, 'content-type': 'text/javascript; charset=utf-8' } }));
}
