import { parse } from '@bytecodealliance/jco';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandError, CommandRunner, cgiEnvironment, parseCgiResponse } from './command-runner.ts';
import type { CommandRequest } from './command-runner.ts';

const P1 = 'wasi_snapshot_preview1';
const enc = new TextEncoder();
const dec = new TextDecoder();

/** WAT string literal for arbitrary bytes. */
function watBytes(bytes: Uint8Array): string {
  return [...bytes].map((b) => '\\' + b.toString(16).padStart(2, '0')).join('');
}

/**
 * A command that prints `Content-Type: text/plain`, a blank line, its whole
 * environment block (NUL-separated), `\n--body--\n`, then stdin.
 */
const ECHO_WAT = `(module
  (import "${P1}" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
  (import "${P1}" "environ_get" (func $env_get (param i32 i32) (result i32)))
  (import "${P1}" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "${P1}" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "${P1}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 0) "Content-Type: text/plain\\n\\n")
  (data (i32.const 32) "\\n--body--\\n")
  (func $out (param $ptr i32) (param $len i32)
    (i32.store (i32.const 200) (local.get $ptr))
    (i32.store (i32.const 204) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 300))))
  (func (export "_start")
    (drop (call $args_sizes (i32.const 108) (i32.const 112)))
    (drop (call $env_sizes (i32.const 100) (i32.const 104)))
    (drop (call $env_get (i32.const 1024) (i32.const 8192)))
    (call $out (i32.const 0) (i32.const 26))
    (call $out (i32.const 8192) (i32.load (i32.const 104)))
    (call $out (i32.const 32) (i32.const 10))
    (i32.store (i32.const 200) (i32.const 65536))
    (i32.store (i32.const 204) (i32.const 65536))
    (drop (call $fd_read (i32.const 0) (i32.const 200) (i32.const 1) (i32.const 300)))
    (call $out (i32.const 65536) (i32.load (i32.const 300)))))`;

interface RawOptions {
  stdout?: string;
  stderr?: string;
  /** Write stdout this many times. */
  repeat?: number;
  /** Call proc_exit with this code at the end (default: return from _start). */
  exit?: number;
  trap?: boolean;
}

/** A command that writes fixed bytes, optionally repeatedly, then exits, returns or traps. */
function rawWat(o: RawOptions): string {
  const out = enc.encode(o.stdout ?? '');
  const err = enc.encode(o.stderr ?? '');
  return `(module
  (import "${P1}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "${P1}" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 4)
  (data (i32.const 1024) "${watBytes(out)}")
  (data (i32.const ${1024 + out.length}) "${watBytes(err)}")
  (func (export "_start") (local $i i32)
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const ${out.length}))
    (i32.store (i32.const 8) (i32.const ${1024 + out.length}))
    (i32.store (i32.const 12) (i32.const ${err.length}))
    (drop (call $fd_write (i32.const 2) (i32.const 8) (i32.const 1) (i32.const 16)))
    (block $done (loop $again
      (br_if $done (i32.ge_u (local.get $i) (i32.const ${o.repeat ?? 1})))
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $again)))
    ${o.trap ? 'unreachable' : ''}
    ${o.exit !== undefined ? `(call $proc_exit (i32.const ${o.exit}))` : ''}))`;
}

/** A command with a global counter, printing it: a fresh instance always prints 1. */
const COUNTER_WAT = `(module
  (import "${P1}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $count (mut i32) (i32.const 0))
  (data (i32.const 64) "Status: 200\\n\\n")
  (func (export "_start")
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (i32.store8 (i32.const 77) (i32.add (i32.const 48) (global.get $count)))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 14))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))`;

async function runnerFor(wat: string): Promise<CommandRunner> {
  return CommandRunner.compile(await parse(wat));
}

function request(over: Partial<CommandRequest> = {}): CommandRequest {
  return {
    method: 'GET',
    url: new URL('http://example.com/'),
    headers: [],
    body: new Uint8Array(),
    env: {},
    requestId: 'req-1',
    ...over,
  };
}

/** Runs the echo command and returns its environment as a map and its stdin. */
async function echo(runner: CommandRunner, req: CommandRequest) {
  const res = await runner.run(req);
  const text = dec.decode(res.body);
  const [envBlock, stdin] = text.split('\n--body--\n') as [string, string];
  const env = new Map(
    envBlock
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
  );
  return { res, env, stdin };
}

describe('CommandRunner (CGI contract over a hand-written preview1 command)', () => {
  let echoRunner: CommandRunner;
  const leak = 'MICRON_TEST_SHOULD_NOT_LEAK';
  beforeAll(async () => {
    process.env[leak] = 'secret';
    echoRunner = await runnerFor(ECHO_WAT);
  });
  afterAll(() => {
    delete process.env[leak];
  });

  it('runs a command that is not a Go snapshot in fresh mode', () => {
    expect(echoRunner.mode).toBe('fresh');
  });

  it('passes the request as CGI variables and the body as stdin', async () => {
    const { res, env, stdin } = await echo(
      echoRunner,
      request({
        method: 'post',
        url: new URL('https://api.example.com:8443/a%20b/c?x=1&y=%2F'),
        headers: [
          ['Content-Type', 'application/json'],
          ['X-Trace-Id', 'abc'],
          ['Accept', 'a'],
          ['accept', 'b'],
          ['Cookie', 'k=1'],
          ['Cookie', 'j=2'],
        ],
        body: enc.encode('{"hello":1}'),
        env: { GREETING: 'hi', REQUEST_METHOD: 'configured values lose' },
        requestId: 'req-42',
      }),
    );
    expect(res.status).toBe(200);
    expect(res.headers).toEqual([['Content-Type', 'text/plain']]);
    expect(stdin).toBe('{"hello":1}');
    expect(Object.fromEntries(env)).toMatchObject({
      REQUEST_METHOD: 'POST',
      REQUEST_URI: '/a%20b/c?x=1&y=%2F',
      PATH_INFO: '/a b/c',
      QUERY_STRING: 'x=1&y=%2F',
      SERVER_PROTOCOL: 'HTTP/1.1',
      SERVER_NAME: 'api.example.com',
      SERVER_PORT: '8443',
      HTTPS: 'on',
      CONTENT_TYPE: 'application/json',
      CONTENT_LENGTH: '11',
      GATEWAY_INTERFACE: 'CGI/1.1',
      HTTP_X_TRACE_ID: 'abc',
      HTTP_ACCEPT: 'a, b',
      HTTP_COOKIE: 'k=1; j=2',
      MICRON_REQUEST_ID: 'req-42',
      GREETING: 'hi',
    });
    expect(env.has('HTTP_CONTENT_TYPE')).toBe(false);
  });

  it('gives the guest no host environment, only what the invocation passes', async () => {
    const { env } = await echo(echoRunner, request({ env: { ONLY: 'this' } }));
    expect(env.has(leak)).toBe(false);
    expect(env.has('PATH')).toBe(false);
    expect(env.has('HOME')).toBe(false);
    const expected = new Set(cgiEnvironment(request({ env: { ONLY: 'this' } })).map(([k]) => k));
    expect(new Set(env.keys())).toEqual(expected);
  });

  it('never forwards a Proxy header (httpoxy) nor header names with underscores', async () => {
    const { env } = await echo(
      echoRunner,
      request({ headers: new Headers([['Proxy', 'http://evil'], ['X-Real-Ip', '1.2.3.4']]) }),
    );
    expect(env.has('HTTP_PROXY')).toBe(false);
    expect(env.get('HTTP_X_REAL_IP')).toBe('1.2.3.4');
    const underscored = cgiEnvironment(request({ headers: [['x_real_ip', 'spoofed']] }));
    expect(underscored.some(([k]) => k === 'HTTP_X_REAL_IP')).toBe(false);
  });

  it('starts every request from a fresh instance', async () => {
    const runner = await runnerFor(COUNTER_WAT);
    for (let i = 0; i < 3; i++) {
      const res = await runner.run(request());
      expect(dec.decode(res.body)).toBe('1'); // the global counter starts at 0 every time
    }
  });

  it('reads Status, headers and body; LF line ends work too', async () => {
    const runner = await runnerFor(rawWat({ stdout: 'Status: 404 Not Found\nContent-Type: application/json\nX-A: 1\nX-A: 2\n\n{"error":"nope"}' }));
    const res = await runner.run(request());
    expect(res.status).toBe(404);
    expect(res.headers).toEqual([
      ['Content-Type', 'application/json'],
      ['X-A', '1'],
      ['X-A', '2'],
    ]);
    expect(dec.decode(res.body)).toBe('{"error":"nope"}');
  });

  it('answers 302 for a Location without Status, and drops hop-by-hop headers', () => {
    const res = parseCgiResponse(enc.encode('Location: /next\r\nContent-Length: 99\r\nConnection: close\r\n\r\n'));
    expect(res.status).toBe(302);
    expect(res.headers).toEqual([['Location', '/next']]);
    expect(res.body.length).toBe(0);
  });

  it('treats proc_exit(0) after a response as success', async () => {
    const runner = await runnerFor(rawWat({ stdout: 'Status: 201\r\n\r\ncreated', exit: 0 }));
    const res = await runner.run(request());
    expect(res.status).toBe(201);
    expect(dec.decode(res.body)).toBe('created');
  });

  it('fails with guest_error and the exit code when the command exits non-zero', async () => {
    const runner = await runnerFor(rawWat({ stdout: 'Status: 200\n\nhalf', stderr: 'panic: boom\n', exit: 2 }));
    const error = await runner.run(request()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({ code: 'guest_error', status: 500, exitCode: 2, stderr: 'panic: boom\n' });
  });

  it('fails with guest_error when the command traps', async () => {
    const runner = await runnerFor(rawWat({ stdout: 'Status: 200\n\n', stderr: 'about to trap', trap: true }));
    const error = (await runner.run(request()).catch((e: unknown) => e)) as CommandError;
    expect(error).toBeInstanceOf(CommandError);
    expect(error.code).toBe('guest_error');
    expect(error.message).toMatch(/trapped/);
    expect(error.stderr).toBe('about to trap');
  });

  it.each([
    ['no output at all', ''],
    ['no blank line after the headers', 'Status: 200\r\nContent-Type: text/plain\r\n'],
    ['a line that is not a header', 'Status: 200\nthis is not a header\n\nbody'],
    ['a bad Status', 'Status: 99 Nope\n\n'],
    ['a status out of range', 'Status: 600\n\n'],
  ])('rejects malformed output: %s', async (_name, stdout) => {
    const runner = await runnerFor(rawWat({ stdout }));
    await expect(runner.run(request())).rejects.toMatchObject({ code: 'guest_error' });
  });

  it('fails instead of truncating a response larger than the stdout limit', async () => {
    const runner = await runnerFor(rawWat({ stdout: 'Status: 200\n\n' + 'x'.repeat(1000), repeat: 10 }));
    await expect(runner.run(request({ limits: { stdoutBytes: 4096 } }))).rejects.toMatchObject({
      code: 'guest_error',
      message: expect.stringMatching(/larger than 4096 bytes/),
    });
    // Under the limit the same command is fine.
    const ok = await runner.run(request({ limits: { stdoutBytes: 20_000 } }));
    expect(ok.body.length).toBe(10 * 1013 - 13);
  });

  it('refuses, when created, a module that imports more than preview1 or exports no _start', async () => {
    const extra = await parse(`(module (import "env" "abort" (func)) (memory (export "memory") 1) (func (export "_start")))`);
    await expect(CommandRunner.compile(extra)).rejects.toMatchObject({ code: 'unsupported_imports', message: expect.stringMatching(/env\.abort/) });
    const noStart = await parse(`(module (memory (export "memory") 1) (func (export "main")))`);
    await expect(CommandRunner.compile(noStart)).rejects.toMatchObject({ code: 'unsupported_exports' });
  });

  it('accepts the functions of micron:http/outbound, and refuses any other name in that module', async () => {
    const outbound = await parse(`(module
      (import "micron:http/outbound@0.1.0" "start" (func (param i32 i32 i32) (result i32)))
      (import "micron:http/outbound@0.1.0" "take-result" (func (param i32 i32 i32) (result i32)))
      (memory (export "memory") 1) (func (export "_start")))`);
    await expect(CommandRunner.compile(outbound)).resolves.toBeInstanceOf(CommandRunner);
    const stranger = await parse(`(module (import "micron:http/outbound@0.1.0" "frob" (func)) (memory (export "memory") 1) (func (export "_start")))`);
    await expect(CommandRunner.compile(stranger)).rejects.toMatchObject({
      code: 'unsupported_imports',
      message: expect.stringMatching(/only wasi_snapshot_preview1 and micron:http\/outbound@0\.1\.0 functions; this one also imports micron:http\/outbound@0\.1\.0\.frob/),
    });
  });

  it('fails the outbound requests of a command it cannot pause and resume, at once and with the reason', async () => {
    const req = enc.encode('GET http://127.0.0.1:9/ HTTP/1.1\r\n\r\n');
    const status = enc.encode('Status: 200\n\n');
    const runner = await runnerFor(`(module
      (import "${P1}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "micron:http/outbound@0.1.0" "start" (func $start (param i32 i32 i32) (result i32)))
      (import "micron:http/outbound@0.1.0" "state" (func $state (param i32) (result i32)))
      (import "micron:http/outbound@0.1.0" "result-len" (func $len (param i32) (result i32)))
      (import "micron:http/outbound@0.1.0" "take-result" (func $take (param i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 64) "${watBytes(status)}")
      (data (i32.const 1024) "${watBytes(req)}")
      (func (export "_start") (local $t i32)
        (local.set $t (call $start (i32.const 1024) (i32.const ${req.length}) (i32.const 0)))
        ;; the ticket's state as a digit, right after the status line's blank line
        (i32.store8 (i32.const ${64 + status.length}) (i32.add (i32.const 48) (call $state (local.get $t))))
        (i32.store (i32.const 0) (i32.const 64))
        (i32.store (i32.const 4) (i32.const ${status.length + 1}))
        (i32.store (i32.const 8) (i32.const 4096))
        (i32.store (i32.const 12) (call $take (local.get $t) (i32.const 4096) (call $len (local.get $t))))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 16)))))`);
    const res = await runner.run(request({ outbound: { allowedHosts: ['*'], maxResponseBytes: 1024, maxOutboundResponseBytes: 1024 } }));
    // State 2: failed, with an `unavailable` error, and nothing was sent anywhere.
    expect(dec.decode(res.body)).toBe('2unavailable\nmicron: outbound HTTP is not available to this module: the host can pause and resume only Go wasip1 programs');
  });

  it('cuts stderr at its limit and says so', async () => {
    const runner = await runnerFor(rawWat({ stdout: 'Status: 200\n\n', stderr: 'e'.repeat(100) }));
    const res = await runner.run(request({ limits: { stderrBytes: 10 } }));
    expect(res.stderr).toBe('eeeeeeeeee\n[stderr truncated]');
  });
});
