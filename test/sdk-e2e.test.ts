/**
 * The guest SDKs end to end, through the real CLI and a real host process:
 * every example in components/{as,rust,go}-* is built from source with
 * `micron build`, deployed with `micron deploy` to a `micron serve` on
 * loopback, and checked over HTTP against the contract in its README. The
 * same is done for a project made by `micron new` in each language, and a
 * missing toolchain is shown to produce a message saying what to install.
 *
 * A language whose toolchain is missing is skipped with the reason printed;
 * in CI (`CI` or `MICRON_REQUIRE_TOOLCHAINS` set) its tests fail instead
 * (test/toolchains.ts). Nothing here reaches into the host in-process: every
 * assertion is on an exit code, a line the CLI printed, a file it wrote or
 * an HTTP answer.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GO_INSTALL_HINT } from '../sdk/build/go.ts';
import { RUST_INSTALL_HINT } from '../sdk/build/rust.ts';
import { cliEnv, runCli, spawnCli, type RunResult } from './cli-process.ts';
import { readChunks } from './helpers.js';
import { checkToolchain, guestToolchain, toolchainsRequired, type GuestLanguage } from './toolchains.ts';

const FILE = 'test/sdk-e2e.test.ts';
const TOKEN = randomBytes(16).toString('hex');
/** A cold Rust build (SDK rlib included) takes seconds; three builds run in some tests. */
const TIMEOUT = 240_000;
/** A line of a Node stack trace: a missing toolchain is a user mistake and must not print one. */
const STACK_LINE = /^\s+at\s/m;

const toolchains: Record<GuestLanguage, Awaited<ReturnType<typeof guestToolchain>>> = {
  assemblyscript: await guestToolchain('assemblyscript', FILE),
  rust: await guestToolchain('rust', FILE),
  go: await guestToolchain('go', FILE),
};

const scratch = mkdtempSync(path.join(tmpdir(), 'micron-sdk-e2e-'));
/** The toolchain choices reach the CLI too: the in-process toolchain probe honoured them. */
const KEEP = ['MICRON_RUSTC', 'MICRON_GO'];
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => cliEnv(KEEP, extra);
const cli = (args: string[], e: NodeJS.ProcessEnv = env()): Promise<RunResult> => runCli(args, e);

/** `micron build <dir> [--out <out>]`: checks the progress, the printed path and size, and the file; returns the path. */
async function build(dir: string, out?: string): Promise<string> {
  const r = await cli(['build', dir, ...(out ? ['--out', out] : [])]);
  expect(r.code, `micron build ${dir} failed:\n${r.stderr}`).toBe(0);
  // Progress: one `micron build: …` line per step on stderr, ending with the file written.
  const progress = r.stderr.split('\n').filter((l) => l.startsWith('micron build: '));
  expect(progress.length).toBeGreaterThanOrEqual(2);
  expect(progress.at(-1)).toMatch(/^micron build: wrote /);
  // Result: the output path and its size on stdout.
  const m = /^built (.+) \((\d+) bytes\)\n$/.exec(r.stdout);
  expect(m, `unexpected output: ${JSON.stringify(r.stdout)}`).not.toBeNull();
  const output = m![1]!;
  if (out) expect(output).toBe(path.resolve(out));
  expect(statSync(output).size).toBe(Number(m![2]));
  return output;
}

/** `micron deploy <file> --name <name>` to the test host; returns the version it got. */
async function deploy(file: string, name: string, config?: object): Promise<string> {
  const args = ['deploy', file, '--name', name, '--url', `http://127.0.0.1:${host.admin}`, '--token', TOKEN];
  if (config) args.push('--config', JSON.stringify(config));
  const r = await cli(args);
  expect(r.code, `micron deploy ${name} failed:\n${r.stderr}`).toBe(0);
  const m = new RegExp(`^deployed ${name} (v\\d+) \\(${statSync(file).size} bytes, sha256 [0-9a-f]{12}…, `).exec(r.stdout);
  expect(m, `unexpected output: ${JSON.stringify(r.stdout)}`).not.toBeNull();
  return m![1]!;
}

/** Builds components/<name> with the CLI into the scratch folder and deploys it under its own name. */
async function buildAndDeploy(name: string, config?: object): Promise<string> {
  const wasm = await build(path.join('components', name), path.join(scratch, `${name}.wasm`));
  await deploy(wasm, name, config);
  return wasm;
}

/** A request to a deployed function over the host's public port. */
function call(fn: string, rest = '/', init?: RequestInit): Promise<Response> {
  return fetch(`http://127.0.0.1:${host.public}/${fn}${rest}`, { ...init, signal: AbortSignal.timeout(30_000) });
}

/** The host under test: `micron serve` in a child process. */
const host = { public: 0, admin: 0, log: '' };
let server: ChildProcess | undefined;

/**
 * A local upstream for the proxies: answers 418 with a 100,000-byte body that
 * starts with the request line; `/gate/<name>?n=N` answers nobody until N
 * requests for that gate are waiting (proof that they were in flight
 * together); `/hang` never answers.
 */
const upstream = { port: 0, hits: [] as string[] };
const gates = new Map<string, http.ServerResponse[]>();
const upstreamServer = http.createServer((req, res) => {
  upstream.hits.push(`${req.method} ${req.url}`);
  const url = new URL(req.url ?? '/', 'http://upstream');
  if (url.pathname === '/hang') return;
  if (url.pathname.startsWith('/gate/')) {
    const waiting = gates.get(url.pathname) ?? [];
    gates.set(url.pathname, waiting);
    waiting.push(res);
    if (waiting.length === Number(url.searchParams.get('n'))) for (const r of waiting.splice(0)) r.end(`released ${url.pathname}`);
    return;
  }
  res.writeHead(418, { 'content-type': 'application/x-test' });
  res.end(`${req.method} ${req.url} `.padEnd(100_000, '.'));
});
/** A server no function may reach: it counts what arrives anyway. */
const offList = { port: 0, hits: 0 };
const offListServer = http.createServer((_req, res) => {
  offList.hits++;
  res.end('should never be reached');
});

beforeAll(async () => {
  await new Promise<void>((resolve) => upstreamServer.listen(0, '127.0.0.1', resolve));
  upstream.port = (upstreamServer.address() as AddressInfo).port;
  await new Promise<void>((resolve) => offListServer.listen(0, '127.0.0.1', resolve));
  offList.port = (offListServer.address() as AddressInfo).port;

  const args = ['serve', '--port', '0', '--admin-port', '0', '--host', '127.0.0.1', '--data-dir', path.join(scratch, 'data'), '--no-examples'];
  server = spawnCli(args, env({ MICRON_ADMIN_TOKEN: TOKEN }));
  server.stderr!.setEncoding('utf8').on('data', (d: string) => (host.log += d));
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`micron serve did not listen within 60 s:\n${stdout}\n${host.log}`)), 60_000);
    server!.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      for (const line of stdout.split('\n').slice(0, -1)) {
        if (!line.startsWith('{')) continue;
        const msg = JSON.parse(line) as { msg?: string; public: number; admin: number };
        if (msg.msg !== 'listening') continue;
        clearTimeout(timer);
        Object.assign(host, { public: msg.public, admin: msg.admin });
        resolve();
      }
    });
    server!.once('exit', (code) => reject(new Error(`micron serve exited with ${code} before listening:\n${stdout}\n${host.log}`)));
  });
});

afterAll(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  }
  upstreamServer.closeAllConnections();
  await new Promise((resolve) => upstreamServer.close(resolve));
  await new Promise((resolve) => offListServer.close(resolve));
  rmSync(scratch, { recursive: true, force: true });
});

/** The JSON API contract the three json-api examples share (their READMEs differ only in the 400 message). */
async function checkJsonApi(name: string, invalidJsonError: string): Promise<void> {
  const item = await call(name, '/items/42');
  expect(item.status).toBe(200);
  expect(item.headers.get('content-type')).toBe('application/json');
  expect(await item.json()).toEqual({ id: '42' });

  const body = JSON.stringify({ name: 'widget', tags: ['a', 1, true, null], nested: { qty: 2 } });
  const created = await call(name, '/items', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  expect(created.status).toBe(201);
  expect(created.headers.get('content-type')).toBe('application/json');
  expect(await created.json()).toEqual(JSON.parse(body));

  const invalid = await call(name, '/items', { method: 'POST', body: '{"name":', headers: { 'content-type': 'application/json' } });
  expect(invalid.status).toBe(400);
  expect(await invalid.json()).toEqual({ error: invalidJsonError });

  const missing = await call(name, '/nope');
  expect(missing.status).toBe(404);
  expect(missing.headers.get('content-type')).toBe('application/json');
  expect(await missing.json()).toEqual({ error: 'not found' });
}

/** `?url=` for the proxies: the local upstream. */
function upstreamQuery(rest = '/up?a=1'): string {
  return `/?url=${encodeURIComponent(`http://127.0.0.1:${upstream.port}${rest}`)}`;
}
const allowUpstream = (): object => ({ allowedHosts: [`127.0.0.1:${upstream.port}`] });

describe('AssemblyScript examples, built by `micron build` and served by `micron serve`', () => {
  const t = toolchains.assemblyscript;
  checkToolchain(t);

  it.skipIf(t.skip)(
    'as-hello answers every request with 200 text/plain "Hello from AssemblyScript!"',
    async () => {
      await buildAndDeploy('as-hello');
      for (const rest of ['/', '/any/path?x=1']) {
        const res = await call('as-hello', rest);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
        expect(await res.text()).toBe('Hello from AssemblyScript!\n');
      }
    },
    TIMEOUT,
  );

  it.skipIf(t.skip)(
    'as-json-api routes GET /items/42, POST /items (201), 400, 404 and 405',
    async () => {
      await buildAndDeploy('as-json-api');
      await checkJsonApi('as-json-api', 'the body is not valid JSON');
      const decoded = await call('as-json-api', '/items/a%20b');
      expect(await decoded.json()).toEqual({ id: 'a b' });
      const wrongMethod = await call('as-json-api', '/items/1', { method: 'DELETE' });
      expect(wrongMethod.status).toBe(405);
      expect(await wrongMethod.json()).toEqual({ error: 'method not allowed' });
    },
    TIMEOUT,
  );

  it.skipIf(t.skip)(
    'as-proxy is denied (502 HTTP-request-denied) without an allow-list and relays the upstream with one',
    async () => {
      const wasm = await buildAndDeploy('as-proxy');
      const hits = upstream.hits.length;
      const denied = await call('as-proxy', upstreamQuery());
      expect(denied.status).toBe(502);
      expect(await denied.json()).toEqual({ error: 'HTTP-request-denied' });
      expect(upstream.hits.length).toBe(hits);

      expect(await deploy(wasm, 'as-proxy', allowUpstream())).toBe('v2');
      const relayed = await call('as-proxy', upstreamQuery());
      expect(relayed.status).toBe(418);
      expect(relayed.headers.get('content-type')).toBe('application/x-test');
      expect(relayed.headers.get('x-proxied-from')).toBe(`http://127.0.0.1:${upstream.port}/up?a=1`);
      const text = await relayed.text();
      expect(text.length).toBe(100_000);
      expect(text.startsWith('GET /up?a=1 ')).toBe(true);

      const usage = await call('as-proxy', '/');
      expect(usage.status).toBe(400);
      expect(await usage.json()).toEqual({ error: 'missing ?url=' });
    },
    TIMEOUT,
  );

  it.skipIf(t.skip)(
    'as-stream sends its five chunks apart and echoes a POST /echo body',
    async () => {
      await buildAndDeploy('as-stream');
      const res = await call('as-stream', '/');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      const { text, arrivals } = await readChunks(res);
      expect(text).toBe('chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n');
      expect(arrivals.length).toBeGreaterThan(1);
      expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(300);

      const payload = Buffer.alloc(200_000, 7);
      const echoed = await call('as-stream', '/echo', { method: 'POST', body: payload, headers: { 'content-type': 'application/x-test' } });
      expect(echoed.status).toBe(200);
      expect(echoed.headers.get('content-type')).toBe('application/x-test');
      expect(Buffer.from(await echoed.arrayBuffer()).equals(payload)).toBe(true);
    },
    TIMEOUT,
  );
});

describe('Rust examples, built by `micron build` and served by `micron serve`', () => {
  const t = toolchains.rust;
  checkToolchain(t);

  it.skipIf(t.skip)(
    'rust-hello answers every request with 200 text/plain "Hello from Rust!"',
    async () => {
      await buildAndDeploy('rust-hello');
      const res = await call('rust-hello', '/any/path?x=1', { method: 'POST', body: 'ignored' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(res.headers.get('content-length')).toBe('17');
      expect(await res.text()).toBe('Hello from Rust!\n');
    },
    TIMEOUT,
  );

  it.skipIf(t.skip)(
    'rust-json-api routes GET /items/42, POST /items (201, body byte for byte), 400, 404 and 405',
    async () => {
      await buildAndDeploy('rust-json-api');
      await checkJsonApi('rust-json-api', 'the body is not valid JSON');
      const body = '{"b": 1,  "a": [2.50, "x"]}';
      const created = await call('rust-json-api', '/items', { method: 'POST', body });
      expect(await created.text()).toBe(body);
      const wrongMethod = await call('rust-json-api', '/items/1', { method: 'DELETE' });
      expect(wrongMethod.status).toBe(405);
      expect(await wrongMethod.json()).toEqual({ error: 'method not allowed' });
    },
    TIMEOUT,
  );

  it.skipIf(t.skip)(
    'rust-proxy is refused (403) without an allow-list and streams the upstream through with one',
    async () => {
      const wasm = await buildAndDeploy('rust-proxy');
      const hits = upstream.hits.length;
      const denied = await call('rust-proxy', upstreamQuery());
      expect(denied.status).toBe(403);
      expect(denied.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await denied.text()).toBe('the host does not allow requests to this URL\n');
      expect(upstream.hits.length).toBe(hits);

      expect(await deploy(wasm, 'rust-proxy', allowUpstream())).toBe('v2');
      const relayed = await call('rust-proxy', upstreamQuery());
      expect(relayed.status).toBe(418);
      expect(relayed.headers.get('content-type')).toBe('application/x-test');
      const text = await relayed.text();
      expect(text.length).toBe(100_000);
      expect(text.startsWith('GET /up?a=1 ')).toBe(true);

      const usage = await call('rust-proxy', '/');
      expect(usage.status).toBe(400);
      expect(await usage.text()).toBe('usage: /?url=https://example.com/\n');
    },
    TIMEOUT,
  );
});

describe('Go examples, built by `micron build` and served by `micron serve`', () => {
  const t = toolchains.go;
  checkToolchain(t);
  /** go-proxy, built once for the tests that deploy it under several names. */
  let goProxyBuild: Promise<string> | undefined;
  const goProxy = (): Promise<string> => (goProxyBuild ??= build(path.join('components', 'go-proxy'), path.join(scratch, 'go-proxy.wasm')));

  it.skipIf(t.skip)(
    'go-hello answers every request with 200 text/plain "Hello from Go!"',
    async () => {
      await buildAndDeploy('go-hello');
      for (const rest of ['/', '/any/path?x=1']) {
        const res = await call('go-hello', rest);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
        expect(await res.text()).toBe('Hello from Go!\n');
      }
    },
    TIMEOUT,
  );

  it.skipIf(t.skip)(
    'go-json-api routes GET /items/42, POST /items (201), 400 and 404',
    async () => {
      await buildAndDeploy('go-json-api');
      await checkJsonApi('go-json-api', 'body must be JSON');
    },
    TIMEOUT,
  );

  it.skipIf(t.skip)(
    'go-proxy is denied (502, with the reason) off the allow-list, nothing reaches the destination, and it relays the upstream when allowed',
    async () => {
      const wasm = await goProxy();
      await deploy(wasm, 'go-proxy');
      const hits = upstream.hits.length;
      const denied = await call('go-proxy', upstreamQuery());
      expect(denied.status).toBe(502);
      expect(denied.headers.get('content-type')).toBe('application/json');
      const host = `127.0.0.1:${upstream.port}`;
      expect(await denied.json()).toEqual({
        error: `Get "http://${host}/up?a=1": micron: outbound request denied: host "${host}" is not in this function's allowedHosts`,
      });
      expect(upstream.hits.length).toBe(hits);

      expect(await deploy(wasm, 'go-proxy', allowUpstream())).toBe('v2');
      const relayed = await call('go-proxy', upstreamQuery());
      expect(relayed.status).toBe(418);
      expect(relayed.headers.get('content-type')).toBe('application/x-test');
      expect(relayed.headers.get('x-proxied-from')).toBe(`http://${host}/up?a=1`);
      const text = await relayed.text();
      expect(text.length).toBe(100_000);
      expect(text.startsWith('GET /up?a=1 ')).toBe(true);
      expect(upstream.hits.at(-1)).toBe('GET /up?a=1');

      // Allowed: the upstream. Not allowed: any other port on the same address.
      const other = `http://127.0.0.1:${offList.port}/secret`;
      const elsewhere = await call('go-proxy', `/?url=${encodeURIComponent(other)}`);
      expect(elsewhere.status).toBe(502);
      expect(((await elsewhere.json()) as { error: string }).error).toBe(
        `Get "${other}": micron: outbound request denied: host "127.0.0.1:${offList.port}" is not in this function's allowedHosts`,
      );
      expect(offList.hits).toBe(0);

      const usage = await call('go-proxy', '/');
      expect(usage.status).toBe(400);
      expect(await usage.json()).toEqual({ error: 'missing ?url=' });
    },
    TIMEOUT,
  );

  it.skipIf(t.skip)(
    'go-proxy keeps several requests to one function in flight at once (a paused instance does not hold up the others)',
    async () => {
      await deploy(await goProxy(), 'go-proxy-pool', allowUpstream());
      // The gate answers only when all four are waiting at the upstream, so they must all be paused at once.
      const gate = upstreamQuery('/gate/pool?n=4');
      const answers = await Promise.all([0, 1, 2, 3].map(() => call('go-proxy-pool', gate)));
      for (const res of answers) {
        expect(res.status).toBe(200);
        expect(await res.text()).toBe('released /gate/pool');
      }
    },
    TIMEOUT,
  );

  it.skipIf(t.skip)(
    "go-proxy answers 504 when the upstream hangs past the function's deadline, and serves the next request",
    async () => {
      await deploy(await goProxy(), 'go-proxy-deadline', { ...allowUpstream(), limits: { deadlineMs: 1500 } });
      const started = Date.now();
      const hung = await call('go-proxy-deadline', upstreamQuery('/hang'));
      expect(hung.status).toBe(504);
      expect(((await hung.json()) as { error: { code: string } }).error.code).toBe('deadline_exceeded');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
      const next = await call('go-proxy-deadline', upstreamQuery());
      expect(next.status).toBe(418);
      expect((await next.text()).length).toBe(100_000);
    },
    TIMEOUT,
  );
});

describe('`micron new` then `micron build`, deployed and answering', () => {
  it.skipIf(toolchains.assemblyscript.skip)(
    'assemblyscript: the template greets by ?name=',
    async () => {
      const url = await newBuildDeploy('assemblyscript');
      expect(await (await fetch(`${url}/?name=Ann`)).text()).toBe('Hello, Ann!\n');
      expect(await (await fetch(`${url}/`)).text()).toBe('Hello, world!\n');
    },
    TIMEOUT,
  );

  it.skipIf(toolchains.rust.skip)(
    'rust: the template answers / and /hello/:name',
    async () => {
      const url = await newBuildDeploy('rust');
      expect(await (await fetch(`${url}/`)).text()).toBe('Hello from Rust!\n');
      expect(await (await fetch(`${url}/hello/ann`)).json()).toEqual({ hello: 'ann' });
      expect((await fetch(`${url}/elsewhere`)).status).toBe(404);
    },
    TIMEOUT,
  );

  it.skipIf(toolchains.go.skip)(
    'go: the template answers / and /hello/{name} with the configured GREETING',
    async () => {
      const url = await newBuildDeploy('go', { env: { GREETING: 'hi' } });
      expect(await (await fetch(`${url}/`)).text()).toBe('Hello from Go!\n');
      expect(await (await fetch(`${url}/hello/ann`)).json()).toEqual({ hello: 'ann', greeting: 'hi' });
    },
    TIMEOUT,
  );

  /** `micron new <lang> <scratch>/new-<lang>`, `micron build` it (default output), deploy as `new-<lang>`; returns its URL. */
  async function newBuildDeploy(lang: GuestLanguage, config?: object): Promise<string> {
    const dir = path.join(scratch, `new-${lang}`);
    const created = await cli(['new', lang, dir]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toBe(`created a ${lang} function in ${dir}; build it with: micron build ${dir}\n`);
    const output = await build(dir);
    expect(output).toBe(path.join(dir, `new-${lang}.wasm`));
    await deploy(output, `new-${lang}`, config);
    return `http://127.0.0.1:${host.public}/new-${lang}`;
  }
});

describe('`micron build` without the toolchain', () => {
  it('names the Debian packages for Rust when the rustc it is told to use is missing', async () => {
    const out = path.join(scratch, 'no-rustc.wasm');
    const r = await cli(['build', 'components/rust-hello', '--out', out], env({ MICRON_RUSTC: path.join(scratch, 'no-such-rustc') }));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^micron: toolchain_missing: no Rust compiler for wasm32-unknown-unknown \(.*no-such-rustc: not found or not runnable\)/);
    expect(r.stderr).toContain(`install with: ${RUST_INSTALL_HINT}`);
    expect(r.stderr).toContain('rustup target add wasm32-unknown-unknown');
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(existsSync(out)).toBe(false);
  });

  it('prints the commands that install Go 1.23 from bookworm-backports when the go it is told to use is missing', async () => {
    const out = path.join(scratch, 'no-go.wasm');
    const r = await cli(['build', 'components/go-hello', '--out', out], env({ MICRON_GO: path.join(scratch, 'no-such-go') }));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^micron: toolchain_missing: Go >= 1\.21 for GOOS=wasip1 was not found \(looked for .*no-such-go \(MICRON_GO\)\)/);
    for (const line of GO_INSTALL_HINT.split('\n')) expect(r.stderr).toContain(line);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(existsSync(out)).toBe(false);
  });

  it('treats CI or MICRON_REQUIRE_TOOLCHAINS as requiring every toolchain', () => {
    expect(toolchainsRequired({})).toBe(false);
    expect(toolchainsRequired({ CI: 'true' })).toBe(true);
    expect(toolchainsRequired({ MICRON_REQUIRE_TOOLCHAINS: '1' })).toBe(true);
    expect(toolchainsRequired({ CI: 'false', MICRON_REQUIRE_TOOLCHAINS: '0' })).toBe(false);
    expect(toolchainsRequired({ CI: '' })).toBe(false);
  });
});
