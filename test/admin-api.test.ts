/**
 * The admin API over the real Hono app: deploy, list, get, delete, the token,
 * and every kind of bad input answered with a stable code while what is
 * already stored stays intact.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWatComponent, buildWatCore } from '../components/build-lib.js';
import type { Host } from '../host/index.js';
import { admin, fixture, tempHost, tempWitDir } from './helpers.js';

let host: Host;
let cleanup: () => Promise<void>;
let witDir: string;

const HANDLER_WAT = (extraImports: string, extraExports = '') => `(module
  ${extraImports}
  (memory (export "memory") 1)
  (func (export "wasi:http/incoming-handler@0.2.12#handle") (param i32 i32) unreachable)
  ${extraExports}
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) i32.const 1024))`;

beforeAll(async () => {
  ({ host, cleanup } = await tempHost({ limits: { uploadBytes: 64 * 1024 } }));
  witDir = tempWitDir(
    `package test:bad@0.1.0;
interface frob { frob: func(); }
world unknown-import { import frob; export wasi:http/incoming-handler@0.2.12; }
world no-handler { export frob; }
`,
  );
}, 60_000);

afterAll(async () => {
  await cleanup();
  rmSync(witDir, { recursive: true, force: true });
});

const deploy = (name: string, body: BodyInit | Uint8Array | null, headers: Record<string, string> = { 'content-type': 'application/wasm' }) =>
  host.adminFetch(admin(`/v1/functions/${name}`, { method: "PUT", body: body as BodyInit | null, headers }));

async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, code: body.error.code, message: body.error.message };
}

describe('authentication', () => {
  it('answers 401 without a token, with a wrong token, and with a wrong scheme', async () => {
    for (const req of [
      admin('/v1/functions', { token: null }),
      admin('/v1/functions', { token: 'wrong' }),
      new Request('http://x/v1/functions', { headers: { authorization: 'Basic dGVzdC10b2tlbg==' } }),
    ]) {
      const e = await errorOf(await host.adminFetch(req));
      expect(e).toMatchObject({ status: 401, code: 'unauthorized' });
    }
  });

  it('serves /healthz without a token', async () => {
    expect((await host.adminFetch(new Request('http://x/healthz'))).status).toBe(200);
  });
});

describe('deploy and manage', () => {
  it('deploys a component and reports its digest, size, interfaces and timings', async () => {
    const bytes = fixture('hello');
    const res = await deploy('hello', bytes);
    expect(res.status).toBe(201);
    const info = (await res.json()) as Record<string, unknown>;
    expect(info).toMatchObject({ name: 'hello', version: 'v1', size: bytes.length, reused: false });
    expect(info.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(info.imports).toContain('wasi:http/types@0.2.12');
    expect(info.exports).toEqual(['wasi:http/incoming-handler@0.2.12']);
    expect(info.transpileMs).toBeGreaterThan(0);
    expect(typeof info.compileMs).toBe('number');
    expect((await host.fetch(new Request('http://localhost/hello/'))).status).toBe(200);
  });

  it('makes a redeploy of the same bytes cheap: no transpile, a new version', async () => {
    const res = await deploy('hello', fixture('hello'));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ version: 'v2', reused: true, transpileMs: 0, versions: 2 });
  });

  it('reuses stored artifacts across function names with the same bytes', async () => {
    const res = await deploy('hello-copy', fixture('hello'));
    expect(await res.json()).toMatchObject({ version: 'v1', reused: true });
  });

  it('lists and gets functions', async () => {
    const list = (await (await host.adminFetch(admin('/v1/functions'))).json()) as { functions: { name: string }[] };
    expect(list.functions.map((f) => f.name)).toEqual(['hello', 'hello-copy']);
    const one = await host.adminFetch(admin('/v1/functions/hello'));
    expect(await one.json()).toMatchObject({ name: 'hello', version: 'v2' });
    expect(await errorOf(await host.adminFetch(admin('/v1/functions/nope')))).toMatchObject({ status: 404, code: 'function_not_found' });
  });

  it('deletes a function, after which it is gone from traffic and the API', async () => {
    const res = await host.adminFetch(admin('/v1/functions/hello-copy', { method: 'DELETE' }));
    expect(res.status).toBe(200);
    expect((await host.fetch(new Request('http://localhost/hello-copy/'))).status).toBe(404);
    expect(await errorOf(await host.adminFetch(admin('/v1/functions/hello-copy', { method: 'DELETE' })))).toMatchObject({ status: 404 });
    expect((await host.fetch(new Request('http://localhost/hello/'))).status).toBe(200);
  });

  it('accepts a multipart deploy with a configuration part', async () => {
    const form = new FormData();
    form.set('wasm', new Blob([fixture('inspect')]), 'inspect.wasm');
    form.set('config', JSON.stringify({ env: { FROM: 'multipart' } }));
    const res = await host.adminFetch(admin('/v1/functions/inspect', { method: 'PUT', body: form }));
    expect(res.status).toBe(201);
    expect(await (await host.fetch(new Request('http://localhost/inspect/'))).text()).toContain('env: FROM=multipart\n');
  });

  it('takes configuration from the x-micron-config header', async () => {
    const res = await deploy('inspect2', fixture('inspect'), { 'content-type': 'application/wasm', 'x-micron-config': '{"env":{"K":"v"}}' });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ config: { env: { K: 'v' }, allowedHosts: [] } });
  });

  it('answers 405 for an unsupported method', async () => {
    expect(await errorOf(await host.adminFetch(admin('/v1/functions/hello', { method: 'POST' })))).toMatchObject({ status: 405, code: 'method_not_allowed' });
  });
});

describe('bad input', () => {
  const snapshot = async () => JSON.stringify(await host.list());
  let before: string;
  beforeAll(async () => {
    before = await snapshot();
  });
  afterAll(async () => {
    // Nothing that was stored changed, whatever was thrown at the API.
    expect(await snapshot()).toBe(before);
    expect((await host.fetch(new Request('http://localhost/hello/'))).status).toBe(200);
  });

  it('rejects an empty body with empty_body', async () => {
    expect(await errorOf(await deploy('x', new Uint8Array(0)))).toMatchObject({ status: 400, code: 'empty_body' });
  });

  it('rejects bytes that are not wasm with invalid_wasm', async () => {
    expect(await errorOf(await deploy('x', new TextEncoder().encode('this is not wasm at all')))).toMatchObject({ status: 422, code: 'invalid_wasm' });
  });

  it('rejects a core module with not_a_component', async () => {
    const core = await buildWatCore('(module (func (export "f")))');
    expect(await errorOf(await deploy('x', core))).toMatchObject({ status: 422, code: 'not_a_component' });
  });

  it('rejects a truncated component with invalid_component', async () => {
    const bytes = fixture('hello');
    expect(await errorOf(await deploy('x', bytes.subarray(0, Math.floor(bytes.length / 2))))).toMatchObject({ status: 422, code: 'invalid_component' });
  });

  it('lists unsupported imports at deploy, not at the first request', async () => {
    const bytes = await buildWatComponent(HANDLER_WAT('(import "test:bad/frob@0.1.0" "frob" (func))'), { witPath: witDir, world: 'unknown-import' });
    const e = await errorOf(await deploy('x', bytes));
    expect(e).toMatchObject({ status: 422, code: 'unsupported_imports' });
    // Named once, with the functions it lacks.
    expect(e.message).toBe('the component imports what Micron does not provide: test:bad/frob@0.1.0 (frob)');
  });

  it('rejects a component with no HTTP handler export', async () => {
    const wat = `(module (memory (export "memory") 1) (func (export "test:bad/frob@0.1.0#frob")) (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) i32.const 0))`;
    const bytes = await buildWatComponent(wat, { witPath: witDir, world: 'no-handler' });
    expect(await errorOf(await deploy('x', bytes))).toMatchObject({ status: 422, code: 'unsupported_exports' });
  });

  it('answers an upload cut off mid-body with 400 bad_request, keeps what is stored, and logs no host error', async () => {
    const lines: string[] = [];
    const { host: h, cleanup: done } = await tempHost({ log: (l) => lines.push(l) });
    try {
      expect((await h.adminFetch(admin('/v1/functions/keep', { method: 'PUT', body: fixture('hello'), headers: { 'content-type': 'application/wasm' } }))).status).toBe(201);
      let sent = false;
      const cut = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent) return controller.error(new TypeError('terminated'));
          sent = true;
          controller.enqueue(fixture('hello').subarray(0, 100));
        },
      });
      const res = await h.adminFetch(admin('/v1/functions/keep', { method: 'PUT', body: cut, headers: { 'content-type': 'application/wasm' }, duplex: 'half' } as RequestInit));
      expect(await errorOf(res)).toMatchObject({ status: 400, code: 'bad_request', message: expect.stringContaining('cut off') });
      expect(((await (await h.adminFetch(admin('/v1/functions/keep'))).json()) as { version: string }).version).toBe('v1');
      expect((await h.fetch(new Request('http://localhost/keep/'))).status).toBe(200);
      expect(lines.filter((l) => (JSON.parse(l) as { level: string }).level === 'error')).toEqual([]);
    } finally {
      await done();
    }
  });

  it('rejects an upload over the size limit with 413', async () => {
    const big = new Uint8Array(100 * 1024);
    big.set(fixture('hello'));
    expect(await errorOf(await deploy('x', big))).toMatchObject({ status: 413, code: 'payload_too_large' });
  });

  it('rejects a wrong content type with 415', async () => {
    expect(await errorOf(await deploy('x', fixture('hello'), { 'content-type': 'text/plain' }))).toMatchObject({ status: 415, code: 'unsupported_media_type' });
  });

  it.each(['Hello', 'a_b', 'a.b', 'a..b', '-a', 'x'.repeat(300), 'h%C3%A9llo', 'a%2Fb', '%20'])('rejects the function name %s', async (name) => {
    expect(await errorOf(await deploy(name, fixture('hello')))).toMatchObject({ status: 400, code: 'invalid_name' });
  });

  it('answers a dot-dot path segment (normalised away by URL parsing) with a JSON 4xx', async () => {
    // `/v1/functions/%2E%2E` is `/v1/` after URL normalisation: no such route.
    expect(await errorOf(await deploy('%2E%2E', fixture('hello')))).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('rejects a configuration with an unknown key, naming it', async () => {
    const e = await errorOf(await deploy('x', fixture('hello'), { 'content-type': 'application/wasm', 'x-micron-config': '{"envv":{}}' }));
    expect(e).toMatchObject({ status: 400, code: 'invalid_config' });
    expect(e.message).toContain('envv');
  });

  it('rejects a bad allow-list entry, naming the field', async () => {
    const e = await errorOf(await deploy('x', fixture('hello'), { 'content-type': 'application/wasm', 'x-micron-config': '{"allowedHosts":["http://x/"]}' }));
    expect(e).toMatchObject({ status: 400, code: 'invalid_config' });
    expect(e.message).toContain('allowedHosts[0]');
  });

  it('never stores a function whose deploy failed', async () => {
    expect((await host.list()).map((f) => f.name)).not.toContain('x');
  });
});
