/**
 * The `micron` command end to end: the real CLI (`node bin/micron.js`) in child
 * processes, a real `micron serve` listening on 127.0.0.1, and real HTTP to
 * it. Nothing here reaches into the host in-process; every assertion is on an
 * exit code, a line the CLI printed, a file it wrote, or an HTTP answer.
 *
 * Each child gets an environment without MICRON_* variables (test/cli-process.ts).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, ROOT, runCli, spawnCli } from './cli-process.ts';

const HELLO = 'components/hello/hello.wasm';
const HELLO_BODY = 'Hello from Micron!\n';
const HELLO_DIGEST = createHash('sha256').update(readFileSync(join(ROOT, HELLO))).digest('hex');
/** A line of a Node stack trace: user mistakes must never print one. */
const STACK_LINE = /^\s+at\s/m;
/** Deploying every example (a 14 MB JavaScript component among them) takes tens of seconds. */
const EXAMPLES_TIMEOUT = 300_000;

const temps: string[] = [];

afterAll(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'micron-cli-'));
  temps.push(dir);
  return dir;
}

/** A running `micron serve`. */
interface Server {
  publicPort: number;
  adminPort: number;
  stdout(): string;
  stderr(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `micron serve` on free ports and resolves once it listens: after the
 * JSON `listening` line on stdout and the human line on stderr, which the CLI
 * writes after everything else it prints at start (the token notice included).
 */
function serve(dataDir: string, extra: string[] = ['--no-examples']): Promise<Server> {
  const child = spawnCli(['serve', '--port', '0', '--admin-port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, ...extra]);
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  return new Promise((resolve, reject) => {
    let ports: { public: number; admin: number } | undefined;
    const check = (): void => {
      ports ??= stdout
        .split('\n')
        .slice(0, -1) // only complete lines
        .map((line) => (line.startsWith('{') ? (JSON.parse(line) as { msg?: string; public: number; admin: number }) : undefined))
        .find((msg) => msg?.msg === 'listening');
      if (!ports || !stderr.includes('micron: serving functions on')) return;
      resolve({
        publicPort: ports.public,
        adminPort: ports.admin,
        stdout: () => stdout,
        stderr: () => stderr,
        stop: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      check();
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      check();
    });
    child.once('error', reject);
    void exited.then((code) => reject(new Error(`micron serve exited with ${code} before listening\nstdout:\n${stdout}\nstderr:\n${stderr}`)));
  });
}

interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A GET over a fresh connection (node:http, so the Host header can be set). */
function get(url: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** A port on 127.0.0.1 that nothing listens on: bound, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

describe('micron without a server', () => {
  it('prints usage and exits 0 for --help', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage:');
    expect(r.stdout).toContain('micron serve');
    expect(r.stdout).toContain('micron deploy <file.wasm> [--name <name>]');
    expect(r.stderr).toBe('');
  });

  it('exits 1 with a readable message and no stack trace for an unknown command', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^micron: unknown command "frobnicate"\n/);
    expect(r.stderr).toContain('Usage:');
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.stdout).toBe('');
  });
});

describe('micron usage mistakes', () => {
  it('prints one command\'s help for `<command> --help`', async () => {
    const r = await runCli(['deploy', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: micron deploy <file\.wasm> \[--name <name>\]/);
    expect(r.stdout).toContain("function name (default: the file's name without .wasm)");
    expect(r.stdout).not.toContain('micron serve');
  });

  it('names an unknown option and the command\'s help in one line', async () => {
    const r = await runCli(['list', '--bogus']);
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: 'micron: unknown option --bogus for micron list; see micron list --help\n' });
  });

  it('refuses an extra argument instead of ignoring it', async () => {
    const r = await runCli(['rm', 'a', 'b', '--token', 't']);
    expect(r).toMatchObject({ code: 1, stderr: 'micron: unexpected argument "b" for micron rm; see micron rm --help\n' });
  });

  it('refuses a --url that is not an http(s) address before connecting', async () => {
    const r = await runCli(['list', '--url', 'notaurl', '--token', 't']);
    expect(r).toMatchObject({ code: 1, stderr: 'micron: --url must be an http:// or https:// address, got "notaurl"\n' });
  });

  it('refuses a --limits that is not a JSON object, and a limit out of range, naming it', async () => {
    const bad = await runCli(['serve', '--limits', '{nope', '--data-dir', tempDir()]);
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringMatching(/^micron: --limits must be a JSON object of limits/) });
    const range = await runCli(['serve', '--limits', '{"deadlineMs": 1e12}', '--data-dir', tempDir(), '--port', '0', '--admin-port', '0', '--no-examples']);
    expect(range.code).toBe(1);
    expect(range.stderr).toContain('micron: invalid_config: limit "deadlineMs" must be at most 2147483647 ms');
    expect(range.stderr).not.toMatch(STACK_LINE);
  });

  it('refuses to serve with a guessable MICRON_ADMIN_TOKEN (under 16 characters)', async () => {
    const r = await runCli(['serve', '--data-dir', tempDir(), '--port', '0', '--admin-port', '0', '--no-examples'], cliEnv([], { MICRON_ADMIN_TOKEN: 'x' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('micron: invalid_config: the admin token must be at least 16 characters');
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});

describe('the admin token', () => {
  it('is generated at first start, printed once on stderr, saved with mode 0600, and reused after a restart without being printed again', async () => {
    const dir = tempDir();
    const first = await serve(dir);
    const printed = /generated an admin token \(saved in the data dir, shown once\): (\S+)\n/.exec(first.stderr());
    expect(printed).not.toBeNull();
    const token = printed![1]!;
    // Hex, so it never begins with `-` and can follow `--token` in any tool.
    expect(token).toMatch(/^[0-9a-f]{48}$/);
    expect(first.stderr().split(token)).toHaveLength(2);
    expect(first.stdout()).not.toContain(token);

    const file = join(dir, 'admin-token');
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const listed = await runCli(['list', '--url', `http://127.0.0.1:${first.adminPort}`, '--token', token]);
    expect(listed, `micron list failed: ${listed.stderr}`).toMatchObject({ code: 0, stdout: 'no functions\n' });
    expect(await first.stop()).toBe(0);

    const second = await serve(dir);
    expect(second.stderr()).not.toContain('generated an admin token');
    expect(second.stderr()).not.toContain(token);
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
    const again = await runCli(['list', '--url', `http://127.0.0.1:${second.adminPort}`, '--token', token]);
    expect(again).toMatchObject({ code: 0, stdout: 'no functions\n' });
    expect(await second.stop()).toBe(0);
  });

  it('is accepted as a separate argument when it begins with `-` (tokens saved by earlier versions could)', async () => {
    const dir = tempDir();
    const token = '-Zq3_leading-dash-token';
    writeFileSync(join(dir, 'admin-token'), `${token}\n`, { mode: 0o600 });
    const server = await serve(dir);
    try {
      expect(server.stderr()).not.toContain('generated an admin token');
      const url = `http://127.0.0.1:${server.adminPort}`;
      const listed = await runCli(['list', '--url', url, '--token', token]);
      expect(listed, `micron list failed: ${listed.stderr}`).toMatchObject({ code: 0, stdout: 'no functions\n' });
      const deployed = await runCli(['deploy', HELLO, '-n', '-dash', '--url', url, '--token', token]);
      expect(deployed.code).toBe(1);
      expect(deployed.stderr).toMatch(/^micron: invalid_name: /);
      const wrong = await runCli(['list', '--url', url, '--token', '-not-the-token']);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/^micron: unauthorized: /);
    } finally {
      await server.stop();
    }
  });
});

// The tests of this block run in order against one server: deploy, serve, list, remove.
describe('a host run by `micron serve`', () => {
  let server: Server;
  let auth: string[];

  beforeAll(async () => {
    const dir = tempDir();
    server = await serve(dir);
    auth = ['--url', `http://127.0.0.1:${server.adminPort}`, '--token', readFileSync(join(dir, 'admin-token'), 'utf8').trim()];
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('deploys a component with `micron deploy` and prints its version', async () => {
    const r = await runCli(['deploy', HELLO, '--name', 'hello', ...auth]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^deployed hello v1 \\(7279 bytes, sha256 ${HELLO_DIGEST.slice(0, 12)}…, transpile [\\d.]+ ms, compile [\\d.]+ ms\\)\\n$`));
  });

  it('serves the function at /<name>/ with a request id', async () => {
    const r = await get(`http://127.0.0.1:${server.publicPort}/hello/`);
    expect(r.status).toBe(200);
    expect(r.body).toBe(HELLO_BODY);
    expect(r.headers['content-type']).toBe('text/plain');
    expect(r.headers['x-micron-request-id']).toMatch(/^[0-9a-f]{8,}$/);
  });

  it('serves the function at / of <name>.localhost', async () => {
    const byPath = await get(`http://127.0.0.1:${server.publicPort}/hello/`);
    const byHost = await get(`http://127.0.0.1:${server.publicPort}/`, { host: 'hello.localhost' });
    expect(byHost.status).toBe(200);
    expect(byHost.body).toBe(HELLO_BODY);
    expect(byHost.headers['x-micron-request-id']).toMatch(/^[0-9a-f]{8,}$/);
    expect(byHost.headers['x-micron-request-id']).not.toBe(byPath.headers['x-micron-request-id']);
  });

  it('lists the function with `micron list`', async () => {
    const r = await runCli(['list', ...auth]);
    expect(r.code).toBe(0);
    const [head, ...rows] = r.stdout.trimEnd().split('\n');
    expect(head).toMatch(/^NAME\s+VERSION\s+BYTES\s+DIGEST\s+UPDATED$/);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(new RegExp(`^hello\\s+v1\\s+7279\\s+${HELLO_DIGEST.slice(0, 12)}\\s+\\d{4}-\\d\\d-\\d\\dT`));
  });

  it('removes the function with `micron rm`, after which its path answers 404 function_not_found', async () => {
    const r = await runCli(['rm', 'hello', ...auth]);
    expect(r).toMatchObject({ code: 0, stdout: 'removed hello\n', stderr: '' });
    const res = await get(`http://127.0.0.1:${server.publicPort}/hello/`);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body)).toEqual({ error: { code: 'function_not_found', message: expect.stringContaining('hello'), requestId: res.headers['x-micron-request-id'] } });
  });

  it('exits 1 with a readable message when the file to deploy does not exist', async () => {
    const r = await runCli(['deploy', 'components/hello/missing.wasm', '--name', 'hello', ...auth]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('micron: cannot read components/hello/missing.wasm\n');
    expect(r.stdout).toBe('');
  });

  it('exits 1 with unauthorized when the token is wrong', async () => {
    const r = await runCli(['deploy', HELLO, '--name', 'hello', '--url', `http://127.0.0.1:${server.adminPort}`, '--token', 'not-the-token']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^micron: unauthorized: missing or wrong admin token/);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('exits 1 with connection_failed when the admin URL is unreachable', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await runCli(['list', '--url', url, '--token', 'whatever']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^micron: connection_failed: cannot reach the host at ${url.replace(/\./g, '\\.')}: `));
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('says so when --url leads to a server that is not the admin API, and changes nothing', async () => {
    await runCli(['deploy', HELLO, '--name', 'keep', ...auth]);
    // The public listener: a function's answer (200 text/plain), or its JSON 404 for /v1/….
    for (const url of [`http://127.0.0.1:${server.publicPort}/keep`, `http://127.0.0.1:${server.publicPort}`]) {
      const other = ['--url', url, '--token', auth[3]!];
      for (const args of [['list'], ['rm', 'keep'], ['deploy', HELLO, '--name', 'keep'], ['logs', 'keep', '--follow']]) {
        const r = await runCli([...args, ...other]);
        expect(r.code, `${args.join(' ')} --url ${url}`).toBe(1);
        expect(r.stderr).toMatch(new RegExp(`^micron: ${url.replace(/[.]/g, '\\.')} did not answer as Micron's admin API \\(HTTP \\d+, [a-z/]+\\); check --url\\n$`));
        expect(r.stdout).toBe('');
      }
    }
    const list = await runCli(['list', ...auth, '--json']);
    expect((JSON.parse(list.stdout) as { name: string; version: string }[]).map((f) => [f.name, f.version])).toEqual([['keep', 'v1']]);
    expect((await runCli(['rm', 'keep', ...auth])).code).toBe(0);
  });

  it('exits 1 with invalid_wasm when the file is not WebAssembly', async () => {
    const file = join(tempDir(), 'notes.wasm');
    writeFileSync(file, 'this is text, not a component\n');
    const r = await runCli(['deploy', file, '--name', 'notes', ...auth]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^micron: invalid_wasm: /);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect((await runCli(['list', ...auth])).stdout).toBe('no functions\n');
  });

  it('exits 1 with a readable message when `micron serve` is given a port in use', async () => {
    const port = String(server.publicPort);
    const dir = tempDir();
    const r = await runCli(['serve', '--port', port, '--admin-port', '0', '--host', '127.0.0.1', '--data-dir', dir, '--no-examples']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`micron: port ${port} is already in use; pick another with --port / --admin-port\n`);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.stdout).not.toContain('listening');
    // The token was saved at this start, so this start is the one that shows it, failure or not.
    expect(r.stderr).toContain(`shown once): ${readFileSync(join(dir, 'admin-token'), 'utf8').trim()}\n`);
  });
});

describe('stopping `micron serve`', () => {
  it('lets a response in flight finish before it exits', async () => {
    const dir = tempDir();
    const server = await serve(dir);
    try {
      const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
      const deployed = await runCli(['deploy', 'components/stream/stream.wasm', '--url', `http://127.0.0.1:${server.adminPort}`, '--token', token]);
      expect(deployed.code, deployed.stderr).toBe(0);
      // The stream sends five chunks 100 ms apart; stop the server once the first one is in.
      let stopped: Promise<number | null> | undefined;
      const body = await new Promise<string>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: server.publicPort, path: '/stream/' }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              if (text === '') stopped = server.stop();
              text += c;
            });
            res.on('end', () => resolve(text));
            res.on('error', reject);
          })
          .on('error', reject);
      });
      expect(body).toBe('chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n');
      expect(await stopped).toBe(0);
      expect(server.stderr()).toContain('micron: stopping: finishing the requests in flight');
    } finally {
      await server.stop();
    }
  });
});

describe('`micron serve` without --no-examples (what `npm start` runs)', () => {
  it(
    'deploys the built examples in components/ before it listens, so hello answers',
    async () => {
      const dir = tempDir();
      const server = await serve(dir, []);
      try {
        const res = await get(`http://127.0.0.1:${server.publicPort}/hello/`);
        expect(res.status).toBe(200);
        expect(res.body).toBe(HELLO_BODY);
        const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
        const listed = await runCli(['list', '--json', '--url', `http://127.0.0.1:${server.adminPort}`, '--token', token]);
        expect(listed.code, `micron list failed: ${listed.stderr}`).toBe(0);
        const names = (JSON.parse(listed.stdout) as { name: string }[]).map((f) => f.name);
        expect(names).toEqual(expect.arrayContaining(['echo', 'hello', 'inspect', 'stream', 'trap']));
        // An example the operator removes stays removed: later starts deploy only examples never deployed here.
        const removed = await runCli(['rm', 'trap', '--url', `http://127.0.0.1:${server.adminPort}`, '--token', token]);
        expect(removed.code, removed.stderr).toBe(0);
        await server.stop();
        const again = await serve(dir, []);
        try {
          expect(again.stderr()).not.toContain('deploying');
          const relisted = await runCli(['list', '--json', '--url', `http://127.0.0.1:${again.adminPort}`, '--token', token]);
          const now = (JSON.parse(relisted.stdout) as { name: string }[]).map((f) => f.name);
          expect(now).not.toContain('trap');
          expect(now.sort()).toEqual(names.filter((n) => n !== 'trap').sort());
        } finally {
          await again.stop();
        }
      } finally {
        await server.stop();
      }
    },
    EXAMPLES_TIMEOUT,
  );
});
