/**
 * Versions and per-function configuration through the admin API: every deploy
 * and every configuration change is an immutable version; `latest` moves on
 * deploy (unless `?promote=false`), on promote and on rollback; a version an
 * alias points at cannot be deleted; and switching versions under live HTTP
 * traffic fails no request.
 */
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../host/index.js';
import { admin, fixture, tempHost } from './helpers.js';

let host: Host;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ host, cleanup } = await tempHost());
}, 60_000);

afterAll(async () => {
  await cleanup();
});

const HELLO_BODY = 'Hello from Micron!\n';

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const init: RequestInit = { method, headers };
  if (body instanceof Uint8Array) {
    init.body = body as Uint8Array<ArrayBuffer>;
    init.headers = { 'content-type': 'application/wasm', ...headers };
  } else if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers = { 'content-type': 'application/json', ...headers };
  }
  const res = await host.adminFetch(admin(path, init));
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const serving = async (name: string): Promise<string> => (await host.fetch(new Request(`http://localhost/${name}/`))).text();
const errorCode = (r: { json: Record<string, unknown> }) => (r.json.error as { code: string }).code;
const errorMessage = (r: { json: Record<string, unknown> }) => (r.json.error as { message: string }).message;

describe('a redeploy without a configuration', () => {
  it('keeps the serving version\'s configuration (auth, env), and one with a configuration replaces it', async () => {
    const config = { env: { GREETING: 'kept' }, invokeAuth: { bearer: ['a-long-secret-token'] } };
    expect((await api('PUT', '/v1/functions/keep', fixture('inspect'), { 'x-micron-config': JSON.stringify(config) })).status).toBe(201);
    const call = (auth?: string): Promise<Response> => host.fetch(new Request('http://localhost/keep/', auth ? { headers: { authorization: `Bearer ${auth}` } } : {}));
    expect((await call()).status).toBe(401);

    // Code only: v2 keeps v1's configuration, so the function stays protected and keeps its env.
    expect((await api('PUT', '/v1/functions/keep', fixture('inspect'))).json).toMatchObject({ version: 'v2', config });
    expect((await call()).status).toBe(401);
    expect(await (await call('a-long-secret-token')).text()).toContain('env: GREETING=kept\n');

    // An explicit configuration, even an empty one, replaces it.
    expect((await api('PUT', '/v1/functions/keep', fixture('inspect'), { 'x-micron-config': '{}' })).json).toMatchObject({ version: 'v3', config: { env: {}, allowedHosts: [] } });
    expect((await call()).status).toBe(200);
  });
});

describe('versions', () => {
  it('records every deploy as a version and moves latest to it', async () => {
    expect((await api('PUT', '/v1/functions/app', fixture('hello'))).json).toMatchObject({ version: 'v1', promoted: true, aliases: { latest: 'v1' } });
    expect((await api('PUT', '/v1/functions/app', fixture('inspect'))).json).toMatchObject({ version: 'v2', promoted: true, aliases: { latest: 'v2' } });
    expect(await serving('app')).toContain('method: GET');
    const list = await api('GET', '/v1/functions/app/versions');
    expect(list.status).toBe(200);
    const versions = list.json.versions as { id: string; digest: string; size: number; createdAt: string; config: unknown; aliases: string[] }[];
    expect(versions.map((v) => [v.id, v.aliases])).toEqual([
      ['v1', []],
      ['v2', ['latest']],
    ]);
    expect(versions[0]).toMatchObject({ size: fixture('hello').length, config: { env: {}, allowedHosts: [] } });
    expect(versions[0]!.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(versions[0]!.createdAt)).not.toBeNaN();
  });

  it('deploys without promoting when asked: latest stays, the new version is listed', async () => {
    const r = await api('PUT', '/v1/functions/app?promote=false', fixture('hello'));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ version: 'v3', promoted: false, aliases: { latest: 'v2' } });
    expect(await serving('app')).toContain('method: GET');
    expect((await api('GET', '/v1/functions/app')).json).toMatchObject({ version: 'v2', versions: 3 });
  });

  it('promotes any version with one call', async () => {
    const r = await api('POST', '/v1/functions/app/promote', { version: 'v3' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ version: 'v3', previous: 'v2', aliases: { latest: 'v3' }, loaded: false });
    expect(await serving('app')).toBe(HELLO_BODY);
  });

  it('rolls back to the version before the serving one, or to a named one', async () => {
    expect((await api('POST', '/v1/functions/app/rollback')).json).toMatchObject({ version: 'v2', previous: 'v3' });
    expect(await serving('app')).toContain('method: GET');
    expect((await api('POST', '/v1/functions/app/rollback')).json).toMatchObject({ version: 'v1', previous: 'v2' });
    expect(await serving('app')).toBe(HELLO_BODY);
    const oldest = await api('POST', '/v1/functions/app/rollback');
    expect([oldest.status, errorCode(oldest)]).toEqual([409, 'conflict']);
    expect((await api('POST', '/v1/functions/app/rollback', { version: 'v2' })).json).toMatchObject({ version: 'v2', previous: 'v1' });
  });

  it('answers version_not_found, bad_request and function_not_found for bad promote and rollback calls', async () => {
    const missing = await api('POST', '/v1/functions/app/promote', { version: 'v99' });
    expect([missing.status, errorCode(missing)]).toEqual([404, 'version_not_found']);
    const noBody = await api('POST', '/v1/functions/app/promote', {});
    expect([noBody.status, errorCode(noBody)]).toEqual([400, 'bad_request']);
    const badJson = await api('POST', '/v1/functions/app/promote', '{nope');
    expect([badJson.status, errorCode(badJson)]).toEqual([400, 'bad_request']);
    const extra = await api('POST', '/v1/functions/app/rollback', { version: 'v1', force: true });
    expect([extra.status, errorCode(extra)]).toEqual([400, 'bad_request']);
    const noFn = await api('POST', '/v1/functions/nope/promote', { version: 'v1' });
    expect([noFn.status, errorCode(noFn)]).toEqual([404, 'function_not_found']);
    const badFlag = await api('PUT', '/v1/functions/app?promote=maybe', fixture('hello'));
    expect([badFlag.status, errorCode(badFlag)]).toEqual([400, 'bad_request']);
  });

  it('deletes a version nothing points at, refuses the aliased one, and 404s an unknown one', async () => {
    const aliased = await api('DELETE', '/v1/functions/app/versions/v2');
    expect([aliased.status, errorCode(aliased)]).toEqual([409, 'conflict']);
    expect(errorMessage(aliased)).toContain('latest');
    expect((await api('DELETE', '/v1/functions/app/versions/v1')).status).toBe(200);
    const gone = await api('DELETE', '/v1/functions/app/versions/v1');
    expect([gone.status, errorCode(gone)]).toEqual([404, 'version_not_found']);
    const ids = ((await api('GET', '/v1/functions/app/versions')).json.versions as { id: string }[]).map((v) => v.id);
    expect(ids).toEqual(['v2', 'v3']);
    expect(await serving('app')).toContain('method: GET');
    // Ids are never reused.
    expect((await api('PUT', '/v1/functions/app?promote=false', fixture('hello'))).json).toMatchObject({ version: 'v4' });
  });
});

describe('per-function configuration', () => {
  it('merges a PATCH of limits key by key: the limits it does not name are kept, null resets one', async () => {
    await api('PUT', '/v1/functions/lim', fixture('inspect'), { 'x-micron-config': '{"limits":{"requestBodyBytes":1000,"deadlineMs":5000}}' });
    const r = await api('PATCH', '/v1/functions/lim/config', { limits: { responseBodyBytes: 1500 } });
    expect(r.json).toMatchObject({ config: { limits: { requestBodyBytes: 1000, deadlineMs: 5000, responseBodyBytes: 1500 } } });
    const reset = await api('PATCH', '/v1/functions/lim/config', { limits: { deadlineMs: null } });
    expect((reset.json as { config: { limits: unknown } }).config.limits).toEqual({ requestBodyBytes: 1000, responseBodyBytes: 1500 });
    const bad = await api('PATCH', '/v1/functions/lim/config', { limits: { nope: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: { code: 'invalid_config' } });
  });

  it('creates a new version with the same component on PATCH, merging fields', async () => {
    const first = await api('PUT', '/v1/functions/cfg', fixture('inspect'), { 'x-micron-config': '{"env":{"A":"1"}}' });
    const r = await api('PATCH', '/v1/functions/cfg/config', { allowedHosts: ['api.example.com'] });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ version: 'v2', digest: first.json.digest, promoted: true, config: { env: { A: '1' }, allowedHosts: ['api.example.com'] } });
    const env = await api('PATCH', '/v1/functions/cfg/config', { env: { B: '2' } });
    expect(env.json).toMatchObject({ version: 'v3', config: { env: { B: '2' }, allowedHosts: ['api.example.com'] } });
    expect(await serving('cfg')).toContain('env: B=2\n');
    // null resets a field to its default.
    expect((await api('PATCH', '/v1/functions/cfg/config', { allowedHosts: null })).json).toMatchObject({ config: { allowedHosts: [] } });
    // A configuration change rolls back like a deploy.
    await api('POST', '/v1/functions/cfg/rollback', { version: 'v1' });
    expect(await serving('cfg')).toContain('env: A=1\n');
  });

  it('can stage a configuration change without promoting it', async () => {
    const r = await api('PATCH', '/v1/functions/cfg/config?promote=false', { env: { STAGED: 'yes' } });
    expect(r.json).toMatchObject({ promoted: false, aliases: { latest: 'v1' } });
    expect(await serving('cfg')).not.toContain('STAGED');
  });

  it.each([
    [{ envv: {} }, 'envv'],
    [{ env: { 'BAD-NAME': 'x' } }, 'env.BAD-NAME'],
    [{ routes: 'api' }, 'routes'],
    [{ routes: ['/api/'] }, 'routes[0]'],
    [{ routes: ['/ok', 'http://x'] }, 'routes[1]'],
    [{ routes: ['/a', '/a'] }, 'routes[1]'],
    [{ invokeAuth: 'private' }, 'invokeAuth'],
    [{ invokeAuth: { bearer: ['short'] } }, 'invokeAuth.bearer[0]'],
    [{ invokeAuth: { bearer: ['x'.repeat(20)], basic: 1 } }, 'invokeAuth.basic'],
  ])('rejects %j with invalid_config naming %s', async (patch, field) => {
    const before = (await api('GET', '/v1/functions/cfg/versions')).json;
    const r = await api('PATCH', '/v1/functions/cfg/config', patch);
    expect([r.status, errorCode(r)]).toEqual([400, 'invalid_config']);
    expect(errorMessage(r)).toContain(field);
    expect((await api('GET', '/v1/functions/cfg/versions')).json).toEqual(before);
  });

  it('rejects a body that is not a JSON object with invalid_config', async () => {
    const r = await api('PATCH', '/v1/functions/cfg/config', '[1]');
    expect([r.status, errorCode(r)]).toEqual([400, 'invalid_config']);
  });

  it('serves a function on its extra path prefixes and host names, the prefix removed', async () => {
    await api('PUT', '/v1/functions/routed', fixture('inspect'), { 'x-micron-config': JSON.stringify({ routes: ['/api/v1', 'Api.Example.com'] }) });
    const byPrefix = await (await host.fetch(new Request('http://localhost/api/v1/items?x=1'))).text();
    expect(byPrefix).toContain('path: /items?x=1\n');
    expect(await (await host.fetch(new Request('http://localhost/api/v1'))).text()).toContain('path: /\n');
    const byHost = await (await host.fetch(new Request('http://localhost/a/b', { headers: { host: 'api.example.com:8080' } }))).text();
    expect(byHost).toContain('path: /a/b\n');
    // A prefix matches whole segments only, and the function's own name still routes.
    expect((await host.fetch(new Request('http://localhost/api/v10'))).status).toBe(404);
    expect(await (await host.fetch(new Request('http://localhost/routed/z'))).text()).toContain('path: /z\n');
  });

  it('refuses a route another function serves with 409 conflict', async () => {
    await api('PUT', '/v1/functions/other', fixture('hello'));
    const r = await api('PATCH', '/v1/functions/other/config', { routes: ['/api/v1'] });
    expect([r.status, errorCode(r)]).toEqual([409, 'conflict']);
    expect(errorMessage(r)).toContain('routed');
    // A path route may not shadow another function's own /<name>/ path.
    const shadow = await api('PATCH', '/v1/functions/other/config', { routes: ['/routed/sub'] });
    expect([shadow.status, errorCode(shadow)]).toEqual([409, 'conflict']);
    expect(errorMessage(shadow)).toContain('shadow');
  });

  it('drops routes when the version that declared them stops serving', async () => {
    await api('PATCH', '/v1/functions/routed/config', { routes: null });
    expect((await host.fetch(new Request('http://localhost/api/v1/items'))).status).toBe(404);
    await api('POST', '/v1/functions/routed/rollback');
    expect((await host.fetch(new Request('http://localhost/api/v1/items'))).status).toBe(200);
  });

  it('requires a bearer token to invoke a function whose invokeAuth lists tokens', async () => {
    const token = 'fn-token-0123456789';
    await api('PUT', '/v1/functions/private', fixture('hello'), { 'x-micron-config': JSON.stringify({ invokeAuth: { bearer: [token] } }) });
    const call = (auth?: string) => host.fetch(new Request('http://localhost/private/', auth ? { headers: { authorization: auth } } : {}));
    const anonymous = await call();
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    expect((await call('Bearer wrong-token-0123456789')).status).toBe(401);
    const ok = await call(`Bearer ${token}`);
    expect([ok.status, await ok.text()]).toEqual([200, HELLO_BODY]);
    await api('PATCH', '/v1/functions/private/config', { invokeAuth: 'public' });
    expect((await call()).status).toBe(200);
  });
});

describe('switching versions under live traffic', () => {
  it('fails no request while latest is promoted and rolled back back and forth', async () => {
    await api('PUT', '/v1/functions/live', fixture('hello'));
    await api('PUT', '/v1/functions/live', fixture('inspect'));
    const { public: pub } = await host.listen({ port: 0, host: '127.0.0.1', adminPort: 0 });
    const url = `http://127.0.0.1:${(pub as AddressInfo).port}/live/`;
    let stop = false;
    const seen = { hello: 0, inspect: 0 };
    const failures: string[] = [];
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          const res = await fetch(url);
          const text = await res.text();
          if (res.status !== 200) failures.push(`${res.status} ${text}`);
          else if (text === HELLO_BODY) seen.hello++;
          else if (text.includes('method: GET')) seen.inspect++;
          else failures.push(`unexpected body ${JSON.stringify(text)}`);
        } catch (e) {
          failures.push(String(e));
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    const switches: string[] = [];
    for (let i = 0; i < 10; i++) {
      // Each switch happens only after traffic has been served by the current version.
      const before = seen.hello + seen.inspect;
      while (seen.hello + seen.inspect < before + 20) await new Promise((r) => setImmediate(r));
      const r = i % 2 === 0 ? await api('POST', '/v1/functions/live/rollback') : await api('POST', '/v1/functions/live/promote', { version: 'v2' });
      switches.push(String(r.json.version));
    }
    const settled = seen.hello + seen.inspect;
    while (seen.hello + seen.inspect < settled + 20) await new Promise((r) => setImmediate(r));
    stop = true;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(switches).toEqual(['v1', 'v2', 'v1', 'v2', 'v1', 'v2', 'v1', 'v2', 'v1', 'v2']);
    expect(seen.hello).toBeGreaterThan(0);
    expect(seen.inspect).toBeGreaterThan(0);
  });
});

describe('evicted versions', () => {
  it('reload transparently when promoted, and a request after eviction is a cold start that succeeds', async () => {
    const small = await tempHost({ limits: { moduleCacheBytes: 1 } });
    try {
      await small.host.deploy('ev', fixture('hello'));
      await small.host.deploy('ev', fixture('inspect'));
      // The cache holds one component: hello's was evicted by inspect's.
      expect(small.host.cacheStats().entries).toBe(1);
      const r = await small.host.rollback('ev');
      expect(r).toMatchObject({ version: 'v1', previous: 'v2', loaded: true });
      expect(await (await small.host.fetch(new Request('http://localhost/ev/'))).text()).toBe(HELLO_BODY);
      await small.host.deploy('other', fixture('echo'));
      const res = await small.host.fetch(new Request('http://localhost/ev/'));
      expect([res.status, await res.text()]).toEqual([200, HELLO_BODY]);
      await new Promise((r) => setTimeout(r, 10));
      const records = small.host.records('ev');
      expect(records.at(-1)).toMatchObject({ version: 'v1', cold: true, status: 200 });
      expect(records.at(-2)).toMatchObject({ version: 'v1', cold: false });
    } finally {
      await small.cleanup();
    }
  });
});

describe('the CLI', () => {
  it('lists versions, promotes and rolls back', async () => {
    await api('PUT', '/v1/functions/cli-fn', fixture('hello'));
    await api('PUT', '/v1/functions/cli-fn?promote=false', fixture('inspect'));
    const { admin: a } = await host.listen({ port: 0, host: '127.0.0.1', adminPort: 0 });
    const bin = fileURLToPath(new URL('../bin/micron.js', import.meta.url));
    const cli = (...args: string[]) =>
      new Promise<{ code: number; out: string; err: string }>((resolve) => {
        execFile(process.execPath, [bin, ...args, '--url', `http://127.0.0.1:${(a as AddressInfo).port}`, '--token', 'test-token-0123456789'], (e, out, err) =>
          resolve({ code: e ? Number(e.code ?? 1) : 0, out, err }),
        );
      });
    const list = await cli('versions', 'cli-fn');
    expect(list.code).toBe(0);
    expect(list.out.split('\n')[0]).toMatch(/^VERSION\s+ALIASES\s+BYTES\s+DIGEST\s+CREATED$/);
    expect(list.out).toMatch(/\nv1\s+latest\s+\d+/);
    expect((await cli('promote', 'cli-fn', 'v2')).out).toBe('cli-fn: latest is v2 (was v1)\n');
    expect((await cli('rollback', 'cli-fn')).out).toBe('cli-fn: latest is v1 (was v2)\n');
    const bad = await cli('promote', 'cli-fn', 'v9');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('version_not_found');
  });
});
