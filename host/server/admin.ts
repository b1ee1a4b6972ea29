/**
 * The admin listener: the management API under `/v1`, protected by a bearer
 * token compared in constant time. Every error is `{ error: { code, message } }`.
 *
 * - `PUT /v1/functions/:name` deploys a component. Body: the component bytes
 *   (`application/wasm` or `application/octet-stream`), with an optional
 *   `x-micron-config` header holding the function configuration as JSON; or
 *   `multipart/form-data` with a `wasm` file part and an optional `config` part.
 * - `GET /v1/functions`, `GET /v1/functions/:name`, `DELETE /v1/functions/:name`.
 * - `GET /healthz` (no token): liveness.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { parseFunctionConfig, checkFunctionName, type HostLimits } from '../config.js';
import { MicronError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import type { Registry } from '../registry/registry.js';
import type { FunctionConfig } from '../registry/store.js';
import { errorResponse, onError } from './errors.js';

/** Dependencies of the admin app. */
export interface AdminAppDeps {
  registry: Registry;
  logger: Logger;
  token: string;
  limits: HostLimits;
}

/** True when `given` equals `expected`, in time independent of where they differ. */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

/** Reads a body up to `limit` bytes; throws payload_too_large beyond it. */
async function readCapped(req: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    throw new MicronError('payload_too_large', `the upload is ${declared} bytes; the limit is ${limit}`);
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new MicronError('payload_too_large', `the upload is larger than the limit of ${limit} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

async function readDeploy(req: Request, limit: number): Promise<{ bytes: Uint8Array; config: FunctionConfig }> {
  const type = (req.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'multipart/form-data') {
    const body = await readCapped(req, limit + 64 * 1024);
    let form: FormData;
    try {
      form = await new Response(body as Uint8Array<ArrayBuffer>, { headers: { 'content-type': req.headers.get('content-type')! } }).formData();
    } catch {
      throw new MicronError('bad_request', 'the multipart body cannot be parsed');
    }
    const wasm = form.get('wasm');
    if (!(wasm instanceof Blob)) throw new MicronError('bad_request', 'the multipart body needs a "wasm" file part');
    if (wasm.size > limit) throw new MicronError('payload_too_large', `the component is ${wasm.size} bytes; the limit is ${limit}`);
    const cfg = form.get('config');
    const config = parseFunctionConfig(cfg instanceof Blob ? await cfg.text() : (cfg ?? undefined));
    return { bytes: new Uint8Array(await wasm.arrayBuffer()), config };
  }
  if (type !== 'application/wasm' && type !== 'application/octet-stream') {
    throw new MicronError('unsupported_media_type', `send the component as application/wasm (got ${type ? JSON.stringify(type) : 'no content-type'})`);
  }
  const header = req.headers.get('x-micron-config');
  const config = parseFunctionConfig(header ?? undefined);
  return { bytes: await readCapped(req, limit), config };
}

/** Creates the Hono app of the admin API. */
export function createAdminApp(deps: AdminAppDeps): Hono {
  const app = new Hono();
  app.onError(onError(deps.logger));
  app.notFound(() => errorResponse('not_found', 'no such API route', 404));

  app.get('/healthz', (c) => c.json({ ok: true }));

  app.use('/v1/*', async (c, next) => {
    const auth = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(auth);
    if (!m || !tokenMatches(m[1]!.trim(), deps.token)) {
      return errorResponse('unauthorized', 'missing or wrong admin token (send "authorization: Bearer <token>")', 401, {
        'www-authenticate': 'Bearer',
      });
    }
    await next();
  });

  app.get('/v1/functions', async (c) => c.json({ functions: await deps.registry.list() }));

  app.get('/v1/functions/:name', async (c) => {
    const name = c.req.param('name');
    checkFunctionName(name);
    const info = await deps.registry.get(name);
    if (!info) throw new MicronError('function_not_found', `no function named ${JSON.stringify(name)}`);
    return c.json(info);
  });

  app.put('/v1/functions/:name', async (c) => {
    const name = c.req.param('name');
    checkFunctionName(name);
    const { bytes, config } = await readDeploy(c.req.raw, deps.limits.uploadBytes);
    const result = await deps.registry.deploy(name, bytes, config);
    deps.logger.info('deployed', { function: name, version: result.version, digest: result.digest, reused: result.reused });
    return c.json(result, result.versions === 1 ? 201 : 200);
  });

  app.delete('/v1/functions/:name', async (c) => {
    const name = c.req.param('name');
    checkFunctionName(name);
    if (!(await deps.registry.remove(name))) throw new MicronError('function_not_found', `no function named ${JSON.stringify(name)}`);
    deps.logger.info('removed', { function: name });
    return c.json({ name, removed: true });
  });

  app.all('/v1/functions/:name', () => errorResponse('method_not_allowed', 'use GET, PUT or DELETE on /v1/functions/:name', 405));
  app.all('/v1/functions', () => errorResponse('method_not_allowed', 'use GET on /v1/functions', 405));
  return app;
}
