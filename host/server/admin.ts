/**
 * The admin listener: the management API under `/v1` and the Prometheus
 * `/metrics`, both protected by a bearer token compared in constant time.
 * Every error is `{ error: { code, message } }`.
 *
 * - `PUT /v1/functions/:name[?promote=false]` deploys a component. Body: the
 *   component bytes (`application/wasm` or `application/octet-stream`), with
 *   an optional `x-micron-config` header holding the function configuration
 *   as JSON; or `multipart/form-data` with a `wasm` file part and an optional
 *   `config` part.
 * - `GET /v1/functions`, `GET /v1/functions/:name`, `DELETE /v1/functions/:name`.
 * - Versions: `GET /v1/functions/:name/versions`, `POST …/promote`
 *   `{"version"}`, `POST …/rollback` (`{"version"}` optional),
 *   `DELETE …/versions/:id`, `PATCH …/config[?promote=false]` (a new version).
 * - Records and guest logs: `GET …/logs?since=&limit=`, live as server-sent
 *   events with `?follow=1` or `GET …/logs/stream`.
 * - `GET /metrics`: Prometheus text format; `GET /v1/stats`: requests and in-flight per function.
 * - `GET /` (no token): the dashboard page, which asks for the token.
 * - `GET /healthz` (no token): liveness.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono, type Context, type Next } from 'hono';
import { parseFunctionConfig, checkFunctionName, type HostLimits } from '../config.js';
import { MicronError } from '../errors.js';
import { recordJsonFields, type InvocationRecord } from '../observe/invocation-record.js';
import type { Logger } from '../observe/logger.js';
import type { Observer } from '../observe/observer.js';
import type { Registry } from '../registry/registry.js';
import type { FunctionConfig } from '../registry/store.js';
import type { RecordQuery } from '../observe/invocation-records.js';
import { readWhole } from '../wasi/http/body.js';
import { mountDashboard } from './dashboard/dashboard.js';
import { errorResponse, onError } from './errors.js';

/** Dependencies of the admin app. */
export interface AdminAppDeps {
  registry: Registry;
  logger: Logger;
  token: string;
  limits: HostLimits;
  /** Records and metrics; absent when the host runs with `observe: false`. */
  observer?: Observer | undefined;
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
  try {
    return await readWhole(req.body, limit, () => new MicronError('payload_too_large', `the upload is larger than the limit of ${limit} bytes`));
  } catch (e) {
    if (e instanceof MicronError) throw e;
    // The client went away (or its body stream failed) mid-upload: its mistake, not a host error.
    throw new MicronError('bad_request', 'the upload was cut off before its end (the connection closed or the body failed)', { cause: e });
  }
}

/** The component and its configuration, when one was sent (else the new version keeps the serving one's). */
async function readDeploy(req: Request, limit: number): Promise<{ bytes: Uint8Array; config: FunctionConfig | undefined }> {
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
    const config = cfg === null ? undefined : parseFunctionConfig(cfg instanceof Blob ? await cfg.text() : cfg);
    return { bytes: new Uint8Array(await wasm.arrayBuffer()), config };
  }
  if (type !== 'application/wasm' && type !== 'application/octet-stream') {
    throw new MicronError('unsupported_media_type', `send the component as application/wasm (got ${type ? JSON.stringify(type) : 'no content-type'})`);
  }
  const header = req.headers.get('x-micron-config');
  const config = header === null ? undefined : parseFunctionConfig(header);
  return { bytes: await readCapped(req, limit), config };
}

/** Header on every answer of the admin API's /v1 routes (value: the API version). */
export const API_HEADER = 'x-micron-api';

/** Creates the Hono app of the admin API. */
export function createAdminApp(deps: AdminAppDeps): Hono {
  const app = new Hono();
  app.onError(onError(deps.logger));
  app.notFound(() => errorResponse('not_found', 'no such API route', 404));

  app.get('/healthz', (c) => c.json({ ok: true }));
  mountDashboard(app);

  const requireToken = async (c: Context, next: Next): Promise<Response | void> => {
    const auth = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(auth);
    if (!m || !tokenMatches(m[1]!.trim(), deps.token)) {
      return errorResponse('unauthorized', 'missing or wrong admin token (send "authorization: Bearer <token>")', 401, {
        'www-authenticate': 'Bearer',
      });
    }
    await next();
  };
  // Every answer of the API says so, errors too: a client pointed at another server
  // (the public listener, a proxy's error page) can tell it is not talking to the API.
  app.use('/v1/*', async (c, next) => {
    await next();
    c.res.headers.set(API_HEADER, '1');
  });
  app.use('/v1/*', requireToken);
  app.use('/metrics', requireToken);

  app.get('/metrics', async () => {
    if (!deps.observer) throw new MicronError('not_found', 'metrics are off (the host runs with observe: false)');
    const { contentType, body } = await deps.observer.metrics.render();
    return new Response(body, { headers: { 'content-type': contentType } });
  });

  app.get('/v1/stats', (c) => c.json({ time: Date.now(), functions: deps.observer?.metrics.snapshot() ?? {} }));

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
    const promote = promoteParam(c.req.query('promote'));
    const { bytes, config } = await readDeploy(c.req.raw, deps.limits.uploadBytes);
    const result = await deps.registry.deploy(name, bytes, config, { promote });
    deps.logger.info('deployed', { function: name, version: result.version, digest: result.digest, reused: result.reused, promoted: result.promoted });
    return c.json(result, result.versions === 1 ? 201 : 200);
  });

  app.delete('/v1/functions/:name', async (c) => {
    const name = c.req.param('name');
    checkFunctionName(name);
    if (!(await deps.registry.remove(name))) throw new MicronError('function_not_found', `no function named ${JSON.stringify(name)}`);
    deps.logger.info('removed', { function: name });
    return c.json({ name, removed: true });
  });

  app.get('/v1/functions/:name/versions', (c) => {
    const name = c.req.param('name');
    const versions = deps.registry.versions(name);
    return c.json({ name, versions });
  });

  app.post('/v1/functions/:name/promote', async (c) => {
    const name = c.req.param('name');
    checkFunctionName(name);
    const body = await readJsonObject(c.req.raw, ['version']);
    if (typeof body.version !== 'string') throw new MicronError('bad_request', 'send {"version": "<id>"}: the version to promote');
    const result = await deps.registry.promote(name, body.version);
    deps.logger.info('promoted', { function: name, version: result.version, previous: result.previous });
    return c.json(result);
  });

  app.post('/v1/functions/:name/rollback', async (c) => {
    const name = c.req.param('name');
    checkFunctionName(name);
    const body = await readJsonObject(c.req.raw, ['version'], true);
    if (body.version !== undefined && typeof body.version !== 'string') throw new MicronError('bad_request', 'field "version" must be a version id');
    const result = await deps.registry.rollback(name, body.version as string | undefined);
    deps.logger.info('rolled back', { function: name, version: result.version, previous: result.previous });
    return c.json(result);
  });

  app.delete('/v1/functions/:name/versions/:id', async (c) => {
    const name = c.req.param('name');
    const id = c.req.param('id');
    await deps.registry.deleteVersion(name, id);
    deps.logger.info('version deleted', { function: name, version: id });
    return c.json({ name, version: id, deleted: true });
  });

  app.patch('/v1/functions/:name/config', async (c) => {
    const name = c.req.param('name');
    checkFunctionName(name);
    const promote = promoteParam(c.req.query('promote'));
    const patch = await readJsonObject(c.req.raw, null, false, 'invalid_config');
    const result = await deps.registry.reconfigure(name, (current) => mergeConfig(current, patch), { promote });
    deps.logger.info('reconfigured', { function: name, version: result.version, promoted: result.promoted });
    return c.json(result);
  });

  const logs = (stream: boolean) => (c: Context) => {
    const name = c.req.param('name')!;
    const follow = stream || isTrue(c.req.query('follow'));
    checkFunctionName(name);
    if (!deps.registry.has(name)) throw new MicronError('function_not_found', `no function named ${JSON.stringify(name)}`);
    const observer = deps.observer;
    if (!observer) throw new MicronError('not_found', 'invocation records are off (the host runs with observe: false)');
    const query = recordQuery(c.req.query('since') ?? (follow ? c.req.header('last-event-id') : undefined), c.req.query('limit'), observer.records.retention.capacity);
    if (follow) return tail(observer, name, query, c.req.raw.signal);
    return c.json({ name, ...observer.records.query(name, query) });
  };
  app.get('/v1/functions/:name/logs', logs(false));
  app.get('/v1/functions/:name/logs/stream', logs(true));

  app.all('/v1/functions/:name', () => errorResponse('method_not_allowed', 'use GET, PUT or DELETE on /v1/functions/:name', 405));
  app.all('/v1/functions', () => errorResponse('method_not_allowed', 'use GET on /v1/functions', 405));
  return app;
}

/** `?promote=`: absent or `true`/`1` promotes, `false`/`0` does not. */
function promoteParam(v: string | undefined): boolean {
  if (v === undefined || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new MicronError('bad_request', `query parameter "promote" must be true or false, got ${JSON.stringify(v)}`);
}

function isTrue(v: string | undefined): boolean {
  return v !== undefined && v !== '0' && v !== 'false';
}

/**
 * Reads a small JSON object body. `keys` lists the allowed keys (null: any);
 * `optional` accepts an empty body as `{}`.
 */
async function readJsonObject(req: Request, keys: string[] | null, optional = false, code: 'bad_request' | 'invalid_config' = 'bad_request'): Promise<Record<string, unknown>> {
  const text = new TextDecoder().decode(await readCapped(req, 256 * 1024));
  if (text.trim() === '' && optional) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new MicronError(code, 'the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new MicronError(code, 'the body must be a JSON object');
  if (keys) {
    for (const k of Object.keys(body)) if (!keys.includes(k)) throw new MicronError(code, `unknown field "${k}"`);
  }
  return body as Record<string, unknown>;
}

/**
 * Applies a configuration patch (JSON merge patch, top level): a field given
 * replaces the serving version's, `null` removes it (back to its default), a
 * field not given is kept. The result is validated like a deploy's.
 */
export function mergeConfig(current: FunctionConfig, patch: Record<string, unknown>): FunctionConfig {
  const merged: Record<string, unknown> = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete merged[k];
    else if (k === 'limits' && typeof v === 'object' && !Array.isArray(v) && current.limits) {
      // Limits are independent knobs: a patch changes the ones it names (null resets one), not the others.
      const limits: Record<string, unknown> = { ...current.limits };
      for (const [lk, lv] of Object.entries(v as Record<string, unknown>)) {
        if (lv === null) delete limits[lk];
        else limits[lk] = lv;
      }
      merged.limits = limits;
    } else merged[k] = v;
  }
  return parseFunctionConfig(merged);
}

/** `since` is a record cursor (`seq`) or an ISO 8601 time; `limit` 1…capacity (default 100, capped). */
function recordQuery(since: string | undefined, limit: string | undefined, capacity: number): RecordQuery {
  const q: RecordQuery = { limit: Math.min(100, capacity) };
  if (limit !== undefined) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1) throw new MicronError('bad_request', `query parameter "limit" must be a positive integer, got ${JSON.stringify(limit)}`);
    q.limit = Math.min(n, capacity);
  }
  if (since !== undefined && since !== '') {
    if (/^\d+$/.test(since)) q.sinceSeq = Number(since);
    else {
      const t = Date.parse(since);
      if (Number.isNaN(t)) throw new MicronError('bad_request', `query parameter "since" must be a cursor (a number) or an ISO 8601 time, got ${JSON.stringify(since)}`);
      q.sinceTime = t;
    }
  }
  return q;
}

/** SSE events queued for one slow client before newer ones are dropped. */
const TAIL_QUEUE = 256;
/** A comment line keeps idle connections (and proxies) from timing out. */
const TAIL_PING_MS = 15_000;

/**
 * A live tail as server-sent events: the records after `query` first, then
 * each new one as it is recorded. Event `invocation`, `id` = the record's
 * `seq` (a reconnecting EventSource resumes with Last-Event-ID). A client that
 * falls behind by more than {@link TAIL_QUEUE} events loses the newest ones
 * and gets a `dropped` event with the count once it catches up.
 */
function tail(observer: Observer, name: string, query: RecordQuery, signal: AbortSignal): Response {
  const enc = new TextEncoder();
  const event = (r: InvocationRecord): Uint8Array => enc.encode(`id: ${r.seq}\nevent: invocation\ndata: {${recordJsonFields(r)}}\n\n`);
  let stop = (): void => undefined;
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        let dropped = 0;
        let ended = false;
        const send = (chunk: Uint8Array): void => {
          if ((controller.desiredSize ?? 0) <= 0) {
            dropped++;
            return;
          }
          if (dropped > 0) {
            controller.enqueue(enc.encode(`event: dropped\ndata: ${dropped}\n\n`));
            dropped = 0;
          }
          controller.enqueue(chunk);
        };
        controller.enqueue(enc.encode(': micron live tail\n\n'));
        for (const r of observer.records.query(name, query).records) controller.enqueue(event(r));
        const unsubscribe = observer.records.subscribe(name, { push: (r) => send(event(r)), end: () => stop() });
        const ping = setInterval(() => send(enc.encode(': ping\n\n')), TAIL_PING_MS);
        ping.unref?.();
        stop = () => {
          if (ended) return;
          ended = true;
          unsubscribe();
          clearInterval(ping);
          signal.removeEventListener('abort', stop);
          try {
            controller.close();
          } catch {
            // Already closed or errored by the client going away.
          }
        };
        signal.addEventListener('abort', stop);
      },
      cancel() {
        stop();
      },
    },
    new CountQueuingStrategy({ highWaterMark: TAIL_QUEUE }),
  );
  return new Response(stream, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
  });
}
