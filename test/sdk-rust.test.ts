/**
 * The Rust SDK end to end: sdk/build/rust.ts compiles the examples in
 * components/rust-* from source with the SDK in sdk/rust, and the results
 * are checked as components (size, imports) and run under `jco serve`
 * (preview2-shim), independent of Micron's own host.
 *
 * Needs a rustc with the wasm32-unknown-unknown standard library (Debian:
 * `apt-get install -y rustc cargo libstd-rust-dev-wasm32 lld`); without one
 * the build tests are skipped with the reason printed, or fail in CI
 * (test/toolchains.ts).
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { transpile } from '@bytecodealliance/jco';
import { describe, expect, it } from 'vitest';
import { WitRegistry } from '../host/abi/wit.ts';
import { Compiler } from '../host/compile/compiler.ts';
import { DEFAULT_LIMITS } from '../host/config.ts';
import { guestPolicy } from '../host/runtime/runtime.js';
import { MicronError } from '../host/errors.ts';
import { Invocation } from '../host/runtime/invocation.ts';
import { hostInterfaces } from '../host/wasi/imports.ts';
import { buildRust } from '../sdk/build/rust.ts';
import { expectJsonApiErrors, expectTrapLogged, expectUpstreamRelayed, isComponent, sdkScratch, startUpstream } from './sdk-examples.ts';
import { checkToolchain, guestToolchain } from './toolchains.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILD_TIMEOUT = 180_000;

const rust = await guestToolchain('rust', 'test/sdk-rust.test.ts');

const files = sdkScratch('micron-sdk-rust-');
const scratch = files.dir;
const serve = files.serve;

/** Copies an example's sources (not its target/ or built .wasm) to a fresh folder and builds it. */
async function buildExample(name: string): Promise<{ wasm: string; bytes: number }> {
  const dir = path.join(scratch, name);
  mkdirSync(dir, { recursive: true });
  cpSync(path.join(ROOT, 'components', name, 'Cargo.toml'), path.join(dir, 'Cargo.toml'));
  cpSync(path.join(ROOT, 'components', name, 'src'), path.join(dir, 'src'), { recursive: true });
  const { output, bytes } = await buildRust(dir);
  return { wasm: output, bytes };
}


describe('Rust SDK build', () => {
  checkToolchain(rust);

  it('refuses a crate that depends on anything but micron', async () => {
    const dir = path.join(scratch, 'with-deps');
    mkdirSync(path.join(dir, 'src'), { recursive: true });
    writeFileSync(
      path.join(dir, 'Cargo.toml'),
      '[package]\nname = "with-deps"\nedition = "2021"\n\n[dependencies]\nmicron = { path = "x" }\nserde = "1"\n',
    );
    writeFileSync(path.join(dir, 'src', 'lib.rs'), '');
    const error = await buildRust(dir).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MicronError);
    expect((error as MicronError).code).toBe('build_failed');
    expect((error as MicronError).message).toContain('serde');
  });

  it.skipIf(rust.skip)(
    'reports a compile error as build_failed with the compiler output',
    async () => {
      const dir = path.join(scratch, 'broken');
      mkdirSync(path.join(dir, 'src'), { recursive: true });
      writeFileSync(path.join(dir, 'Cargo.toml'), '[package]\nname = "broken"\nedition = "2021"\n');
      writeFileSync(path.join(dir, 'src', 'lib.rs'), 'fn handle(_: micron::Request) -> u8 { "no" }\n');
      const error = await buildRust(dir).catch((err: unknown) => err);
      expect((error as MicronError).code).toBe('build_failed');
      expect((error as MicronError).message).toMatch(/mismatched types/);
    },
    BUILD_TIMEOUT,
  );

  it.skipIf(rust.skip)(
    'builds rust-hello from source into a component of at most 32 KB that imports only wasi:* and serves the greeting',
    async () => {
      const { wasm, bytes } = await buildExample('rust-hello');
      const component = readFileSync(wasm);
      expect(component.byteLength).toBe(bytes);
      expect(isComponent(component)).toBe(true);
      expect(bytes).toBeLessThanOrEqual(32 * 1024);

      // wasiShim: false reports the WIT interface names rather than the shim modules they map to.
      const { imports, exports } = await transpile(component, { name: 'rust_hello', quiet: true, wasiShim: false });
      expect(imports).toContain('wasi:http/types');
      for (const name of imports) expect(name).toMatch(/^wasi:/);
      expect(exports.map(([name]) => name)).toContain('wasi:http/incoming-handler@0.2.12');

      const base = await serve(wasm);
      const response = await fetch(`${base}/anything?x=1`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await response.text()).toBe('Hello from Rust!\n');
    },
    BUILD_TIMEOUT,
  );

  it.skipIf(rust.skip)(
    "serves rust-hello in Micron without growing its 2 initial pages (the SDK's arena), so an instance can be reused",
    async () => {
      const { wasm } = await buildExample('rust-hello');
      const bytes = new Uint8Array(readFileSync(wasm));
      const wit = WitRegistry.fromDirectory(path.join(ROOT, 'wit'));
      const compiler = new Compiler(wit, hostInterfaces(wit));
      const built = await compiler.build(bytes);
      const { prepared } = await compiler.load(bytes, built.meta, (name) => built.files.get(name));
      const policy = guestPolicy(DEFAULT_LIMITS);
      for (let i = 0; i < 3; i++) {
        const invocation = new Invocation(prepared, `r${i}`, policy);
        const headers: [string, string][] = [['host', 'localhost'], ['user-agent', 'test'], ['accept', '*/*']];
        const { response, done } = invocation.run(
          { method: 'GET', pathWithQuery: '/x', scheme: 'http', authority: 'localhost', headers, body: null, maxBodyBytes: 0 },
          DEFAULT_LIMITS.deadlineMs,
        );
        expect(await (await response).text()).toBe('Hello from Rust!\n');
        await done;
        expect(invocation.stats.memoryPages).toBe(2);
      }
    },
    BUILD_TIMEOUT,
  );

  it.skipIf(rust.skip)(
    'logs a panic\'s message and place on stderr before the instance aborts',
    async () => {
      const dir = path.join(scratch, 'panics');
      mkdirSync(path.join(dir, 'src'), { recursive: true });
      writeFileSync(path.join(dir, 'Cargo.toml'), '[package]\nname = "panics"\nedition = "2021"\n');
      writeFileSync(
        path.join(dir, 'src', 'lib.rs'),
        'fn handle(req: micron::Request) -> micron::Response {\n    let n = req.path().len();\n    panic!("boom {} from rust", n);\n}\nmicron::export_handler!(handle);\n',
      );
      const { output } = await buildRust(dir);
      await expectTrapLogged(output, '/abc', 'panicked: boom 4 from rust at ./src/lib.rs:3:5');
    },
    BUILD_TIMEOUT,
  );

  it.skipIf(rust.skip)(
    'builds the `micron new rust` template as it is copied',
    async () => {
      const dir = path.join(scratch, 'new-function');
      cpSync(path.join(ROOT, 'sdk', 'templates', 'rust'), dir, { recursive: true });
      const { output, bytes } = await buildRust(dir);
      expect(output).toBe(path.join(dir, 'new-function.wasm'));
      expect(isComponent(readFileSync(output))).toBe(true);
      expect(bytes).toBeGreaterThan(0);
    },
    BUILD_TIMEOUT,
  );

  it.skipIf(rust.skip)(
    'routes rust-json-api requests: path parameters, JSON echo, 400, 404 and 405',
    async () => {
      const { wasm } = await buildExample('rust-json-api');
      const base = await serve(wasm);

      const item = await fetch(`${base}/items/a"b`);
      expect(item.status).toBe(200);
      expect(item.headers.get('content-type')).toBe('application/json');
      expect(await item.json()).toEqual({ id: 'a%22b' });

      const body = JSON.stringify({ name: 'widget', tags: ['a', 1, 2.5e3, true, null], text: 'x'.repeat(200_000) });
      const created = await fetch(`${base}/items`, { method: 'POST', body });
      expect(created.status).toBe(201);
      expect(await created.text()).toBe(body);

      await expectJsonApiErrors(base);
    },
    BUILD_TIMEOUT,
  );

  it.skipIf(rust.skip)(
    'streams an upstream response through rust-proxy with outbound fetch',
    async () => {
      const port = await startUpstream(files);

      const { wasm } = await buildExample('rust-proxy');
      const base = await serve(wasm);
      const target = encodeURIComponent(`http://127.0.0.1:${port}/up?a=1`);
      const proxied = await fetch(`${base}/?url=${target}`);
      await expectUpstreamRelayed(proxied);

      const refused = await fetch(`${base}/?url=${encodeURIComponent('http://127.0.0.1:1/')}`);
      expect(refused.status).toBe(502);
      expect(await refused.text()).toContain('connection-refused');

      const usage = await fetch(`${base}/`);
      expect(usage.status).toBe(400);
    },
    BUILD_TIMEOUT,
  );
});
