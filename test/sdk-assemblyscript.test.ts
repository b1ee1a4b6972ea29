/**
 * The AssemblyScript SDK end to end: sdk/build/assemblyscript.ts compiles the
 * examples in components/as-* from source (copied to a temporary folder, so
 * the SDK comes from the builder's `micron/sdk/assemblyscript` mapping, not a
 * relative path), and the results are checked as components (size, imports,
 * jco transpile) and run under `jco serve` (preview2-shim), independent of
 * Micron's own host.
 *
 * The compiler is micron's devDependency `assemblyscript`; without it the
 * build tests are skipped with the reason printed, or fail in CI
 * (test/toolchains.ts).
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { componentWit, transpile } from '@bytecodealliance/jco';
import { describe, expect, it, vi } from 'vitest';
import { MicronError } from '../host/errors.ts';
import { ASSEMBLYSCRIPT_INSTALL_HINT, buildAssemblyScript } from '../sdk/build/assemblyscript.ts';
import { buildProject, detectLanguage } from '../sdk/build/index.ts';
import { readChunks } from './helpers.js';
import { expectJsonApiErrors, expectTrapLogged, expectUpstreamRelayed, isComponent, runInMicron, sdkScratch, startUpstream } from './sdk-examples.ts';
import { checkToolchain, guestToolchain } from './toolchains.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILD_TIMEOUT = 120_000;
const HELLO_BUDGET = 16 * 1024;

const asc = await guestToolchain('assemblyscript', 'test/sdk-assemblyscript.test.ts');

const files = sdkScratch('micron-sdk-as-');
const scratch = files.dir;
const serve = files.serve;

/** Copies an example's sources (not its built .wasm) to a fresh folder and builds it there. */
async function buildExample(name: string): Promise<{ wasm: string; bytes: number }> {
  const dir = path.join(scratch, name);
  mkdirSync(dir, { recursive: true });
  for (const file of ['index.ts', 'asconfig.json']) {
    cpSync(path.join(ROOT, 'components', name, file), path.join(dir, file));
  }
  const { output, bytes } = await buildAssemblyScript(dir);
  return { wasm: output, bytes };
}

/** Writes a one-file project (`index.ts`) in a fresh scratch folder; returns the folder. */
function writeProject(name: string, source: string): string {
  const dir = path.join(scratch, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'index.ts'), source);
  return dir;
}

/** Writes a one-file project and builds it, returning the error it fails with. */
async function buildFailure(name: string, source: string): Promise<MicronError> {
  const dir = writeProject(name, source);
  const error = await buildAssemblyScript(dir).then(
    () => new Error('the build succeeded'),
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(MicronError);
  return error as MicronError;
}


/** The `import` lines of a component's WIT world. */
async function witImports(component: Uint8Array): Promise<string[]> {
  const wit = await componentWit(component);
  return [...wit.matchAll(/^\s*import ([^;]+);/gm)].map((m) => m[1] ?? '');
}

describe('AssemblyScript SDK build', () => {
  checkToolchain(asc);

  it.skipIf(asc.skip)(
    'builds as-hello from source into a component of at most 16 KB that imports only wasi:* 0.2.12',
    async () => {
      const { wasm, bytes } = await buildExample('as-hello');
      expect(wasm).toBe(path.join(scratch, 'as-hello', 'as-hello.wasm'));
      const component = readFileSync(wasm);
      expect(component.byteLength).toBe(bytes);
      expect(isComponent(component)).toBe(true);
      expect(bytes).toBeLessThanOrEqual(HELLO_BUDGET);

      const imports = await witImports(component);
      expect(imports).toContain('wasi:http/types@0.2.12');
      for (const name of imports) expect(name).toMatch(/^wasi:[a-z-]+\/[a-z-]+@0\.2\.12$/);

      // wasiShim: false reports the WIT interface names rather than the shim modules they map to.
      const { exports } = await transpile(component, { name: 'as_hello', quiet: true, wasiShim: false });
      expect(exports.map(([name]) => name)).toContain('wasi:http/incoming-handler@0.2.12');

      // The checked-in build is what the source builds to (rebuild: see components/as-hello/README.md).
      expect(component.equals(readFileSync(path.join(ROOT, 'components', 'as-hello', 'as-hello.wasm')))).toBe(true);

      const base = await serve(wasm);
      const response = await fetch(`${base}/anything?x=1`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await response.text()).toBe('Hello from AssemblyScript!\n');
    },
    BUILD_TIMEOUT,
  );

  it.skipIf(asc.skip)(
    'logs a throw\'s message and place on stderr before the instance traps',
    async () => {
      const dir = writeProject(
        'throws',
        'import { Request, Response } from "micron/sdk/assemblyscript";\n' +
          'export function handle(req: Request): Response {\n' +
          '  if (req.path.length > 1) throw new Error("boom from as " + req.path);\n' +
          '  return Response.text("ok");\n' +
          '}\n',
      );
      const { output } = await buildAssemblyScript(dir);
      await expectTrapLogged(output, '/abc', 'abort: boom from as /abc at index.ts:3:28');
      expect((await runInMicron(new Uint8Array(readFileSync(output)), '/')).status).toBe(200);
    },
    BUILD_TIMEOUT,
  );

  it.skipIf(asc.skip)(
    'routes as-json-api requests: path parameters, JSON echo, 400, 404 and 405',
    async () => {
      const { wasm } = await buildExample('as-json-api');
      const base = await serve(wasm);

      const item = await fetch(`${base}/items/a%20b`);
      expect(item.status).toBe(200);
      expect(item.headers.get('content-type')).toBe('application/json');
      expect(await item.json()).toEqual({ id: 'a b' });

      const body = JSON.stringify({ name: 'widget', tags: ['a', 1, 2.5e3, true, null], esc: 'q"\\\n\u0001é', text: 'x'.repeat(100_000) });
      const created = await fetch(`${base}/items`, { method: 'POST', body });
      expect(created.status).toBe(201);
      expect(await created.json()).toEqual(JSON.parse(body));

      await expectJsonApiErrors(base);
    },
    BUILD_TIMEOUT,
  );

  it.skipIf(asc.skip)(
    'streams with as-stream: flushed chunks arrive apart, and a request body is echoed as it arrives',
    async () => {
      const { wasm } = await buildExample('as-stream');
      const base = await serve(wasm);

      const response = await fetch(`${base}/`);
      expect(response.status).toBe(200);
      const { text, arrivals } = await readChunks(response);
      expect(text).toBe('chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n');
      expect(arrivals.length).toBeGreaterThan(1);
      expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(300);

      const payload = Buffer.alloc(300_000, 7);
      const echoed = await fetch(`${base}/echo`, {
        method: 'POST',
        body: payload,
        headers: { 'content-type': 'application/x-test' },
      });
      expect(echoed.headers.get('content-type')).toBe('application/x-test');
      expect(Buffer.from(await echoed.arrayBuffer()).equals(payload)).toBe(true);
    },
    BUILD_TIMEOUT,
  );

  it.skipIf(asc.skip)(
    'relays an upstream response through as-proxy with outbound fetch, and 502 with the error-code on failure',
    async () => {
      const port = await startUpstream(files);

      const { wasm } = await buildExample('as-proxy');
      const base = await serve(wasm);
      const target = `http://127.0.0.1:${port}/up?a=1`;
      const proxied = await fetch(`${base}/?url=${encodeURIComponent(target)}`);
      expect(proxied.headers.get('x-proxied-from')).toBe(target);
      await expectUpstreamRelayed(proxied);

      const refused = await fetch(`${base}/?url=${encodeURIComponent('http://127.0.0.1:1/')}`);
      expect(refused.status).toBe(502);
      expect(await refused.json()).toEqual({ error: 'connection-refused' });

      const relative = await fetch(`${base}/?url=nowhere`);
      expect(relative.status).toBe(502);
      expect(await relative.json()).toEqual({ error: 'HTTP-request-URI-invalid' });

      const missing = await fetch(`${base}/`);
      expect(missing.status).toBe(400);
    },
    BUILD_TIMEOUT,
  );

  it.skipIf(asc.skip)(
    'builds the `micron new assemblyscript` template as it is copied, through buildProject',
    async () => {
      const dir = path.join(scratch, 'new-function');
      cpSync(path.join(ROOT, 'sdk', 'templates', 'assemblyscript'), dir, { recursive: true });
      expect(detectLanguage(dir)).toBe('assemblyscript');
      const { output, bytes, language } = await buildProject(dir);
      expect(language).toBe('assemblyscript');
      expect(output).toBe(path.join(dir, 'new-function.wasm'));
      expect(isComponent(readFileSync(output))).toBe(true);
      expect(bytes).toBeLessThanOrEqual(HELLO_BUDGET);
    },
    BUILD_TIMEOUT,
  );

  it.skipIf(asc.skip)(
    'runs top-level code once, on the first request, where host calls such as env() work',
    async () => {
      const dir = writeProject(
        'top-level',
        'import { Request, Response, env } from "micron/sdk/assemblyscript";\n' +
          'const greeting = env("GREETING");\n' +
          'let calls = 0;\n' +
          'export function handle(req: Request): Response {\n' +
          '  calls++;\n' +
          '  return Response.text((greeting != null ? greeting! : "none") + " " + calls.toString());\n' +
          '}\n',
      );
      const { output } = await buildAssemblyScript(dir);
      // jco serve reuses one instance, so the counter shows the top-level code ran once.
      const base = await serve(output, { GREETING: 'hi' });
      expect(await (await fetch(`${base}/`)).text()).toBe('hi 1');
      expect(await (await fetch(`${base}/`)).text()).toBe('hi 2');
    },
    BUILD_TIMEOUT,
  );

  it('detects a project by its asconfig.json or its assemblyscript dependency', () => {
    const byConfig = path.join(scratch, 'detect-config');
    mkdirSync(byConfig, { recursive: true });
    writeFileSync(path.join(byConfig, 'asconfig.json'), '{}');
    expect(detectLanguage(byConfig)).toBe('assemblyscript');

    const byPackage = path.join(scratch, 'detect-package');
    mkdirSync(byPackage, { recursive: true });
    writeFileSync(path.join(byPackage, 'package.json'), '{"devDependencies":{"assemblyscript":"^0.28.0"}}');
    expect(detectLanguage(byPackage)).toBe('assemblyscript');

    const plain = path.join(scratch, 'detect-none');
    mkdirSync(plain, { recursive: true });
    writeFileSync(path.join(plain, 'package.json'), '{"dependencies":{"hono":"^4"}}');
    expect(detectLanguage(plain)).toBe(null);
  });

  it.skipIf(asc.skip)(
    'reports a type error as build_failed with the compiler diagnostics',
    async () => {
      const error = await buildFailure(
        'type-error',
        'import { Request, Response } from "micron/sdk/assemblyscript";\n' +
          'export function handle(req: Request): Response { return 42; }\n',
      );
      expect(error.code).toBe('build_failed');
      expect(error.message).toContain('TS2322');
      expect(error.message).toContain('index.ts(2,');
    },
    BUILD_TIMEOUT,
  );

  it.skipIf(asc.skip)(
    'says which handler export is missing',
    async () => {
      const error = await buildFailure(
        'no-handler',
        'import { Request, Response } from "micron/sdk/assemblyscript";\n' +
          'export function serve(req: Request): Response { return Response.text("x"); }\n',
      );
      expect(error.code).toBe('build_failed');
      expect(error.message).toContain('must export `function handle(req: Request): Response`');
    },
    BUILD_TIMEOUT,
  );

  it.skipIf(asc.skip)(
    'explains an import from "env" (Date.now) instead of failing in wit-component',
    async () => {
      const error = await buildFailure(
        'env-import',
        'import { Request, Response } from "micron/sdk/assemblyscript";\n' +
          'export function handle(req: Request): Response { return Response.text(Date.now().toString()); }\n',
      );
      expect(error.code).toBe('build_failed');
      expect(error.message).toContain('env.Date.now');
      expect(error.message).toContain("SDK's now()");
    },
    BUILD_TIMEOUT,
  );
});

describe('AssemblyScript toolchain search', () => {
  it('says what to install when neither micron nor the project has the compiler', async () => {
    // Hide micron's own devDependency from the builder, the only way it can be missing in this checkout.
    vi.resetModules();
    vi.doMock('node:module', async (original) => {
      const actual = await original<typeof import('node:module')>();
      const createRequire = (from: string | URL) => {
        const require = actual.createRequire(from);
        return Object.assign((id: string) => require(id), require, {
          resolve: (id: string) => {
            if (id.startsWith('assemblyscript')) throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
            return require.resolve(id);
          },
        });
      };
      return { ...actual, createRequire, default: { ...actual, createRequire } };
    });
    try {
      const { findAssemblyScript } = await import('../sdk/build/assemblyscript.ts');
      const project = path.join(scratch, 'no-compiler');
      mkdirSync(project, { recursive: true });
      const error = (() => {
        try {
          return findAssemblyScript(project);
        } catch (err) {
          return err;
        }
      })();
      expect(error).toBeInstanceOf(Error);
      expect((error as MicronError).code).toBe('toolchain_missing');
      expect((error as MicronError).message).toContain(`run \`${ASSEMBLYSCRIPT_INSTALL_HINT}\` in the project`);
      expect((error as MicronError).message).toContain(project);
    } finally {
      vi.doUnmock('node:module');
      vi.resetModules();
    }
  });
});
