/** Command (CGI) guests run under the invocation's deadline too. */
import { parse } from '@bytecodealliance/jco';
import { describe, expect, it } from 'vitest';
import { CommandRunner, type CommandRequest } from './command-runner.ts';
import { DeadlineExceeded } from './watchdog/index.ts';

const P1 = 'wasi_snapshot_preview1';

/** `_start` spins forever on POST (REQUEST_METHOD=POST is 4 bytes), else prints a CGI answer. */
const WAT = `(module
  (import "${P1}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "${P1}" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "Content-Type: text/plain\\n\\nok\\n")
  (func (export "_start") (param)
    (drop (call $env_sizes (i32.const 100) (i32.const 104)))
    (if (i32.gt_u (i32.load (i32.const 104)) (i32.const 1000)) (then (loop $forever (br $forever))))
    (i32.store (i32.const 200) (i32.const 0))
    (i32.store (i32.const 204) (i32.const 29))
    (drop (call $fd_write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 300)))))`;

function request(spin: boolean, deadlineMs: number): CommandRequest {
  return {
    method: 'GET',
    url: new URL('http://localhost/'),
    headers: spin ? [['x-spin', 'x'.repeat(2000)]] : [],
    body: new Uint8Array(0),
    env: {},
    requestId: 'r1',
    deadlineMs,
  };
}

describe('a command guest that never yields', () => {
  it('is stopped at its deadline, and the runner serves the next request', async () => {
    const runner = await CommandRunner.compile(await parse(WAT), { mode: 'fresh' });
    await expect(runner.run(request(true, 50))).rejects.toBeInstanceOf(DeadlineExceeded);
    const ok = await runner.run(request(false, 1000));
    expect(new TextDecoder().decode(ok.body)).toBe('ok\n');
  });
});
