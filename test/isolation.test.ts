/**
 * Every request observes a fresh instance, whichever way the host provides it
 * (reused-and-reset instance, pooled memory): a guest that counts its calls in
 * a global and in linear memory always sees a count of one.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWatComponent } from '../components/build-lib.js';
import type { Host } from '../host/index.js';
import { tempHost } from './helpers.js';

let host: Host;
let cleanup: () => Promise<void>;

/** hello.wat, plus a global and a memory byte incremented per call, reported as the status 200 + 10·global + memory. */
function counterWat(): string {
  let wat = readFileSync(new URL('../components/hello/hello.wat', import.meta.url), 'utf8');
  wat = wat.replace(
    '(memory (export "memory") 1)',
    `(import "wasi:http/types@0.2.12" "[method]outgoing-response.set-status-code" (func $set_status (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $count (mut i32) (i32.const 0))`,
  );
  wat = wat.replace(
    '(call $response_body (local.get $response) (i32.const 0))',
    `(global.set $count (i32.add (global.get $count) (i32.const 1)))
    (i32.store8 (i32.const 2000) (i32.add (i32.load8_u (i32.const 2000)) (i32.const 1)))
    (drop (call $set_status (local.get $response)
      (i32.add (i32.const 200) (i32.add (i32.mul (global.get $count) (i32.const 10)) (i32.load8_u (i32.const 2000))))))
    (call $response_body (local.get $response) (i32.const 0))`,
  );
  return wat;
}

beforeAll(async () => {
  ({ host, cleanup } = await tempHost());
  await host.deploy('counter', await buildWatComponent(counterWat()));
}, 60_000);

afterAll(async () => cleanup());

describe('isolation between requests', () => {
  it('starts every request from the initial globals and memory', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      const res = await host.fetch(new Request('http://localhost/counter/'));
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(new Set(statuses)).toEqual(new Set([211]));
  });

  it('keeps concurrent requests apart', async () => {
    const res = await Promise.all(Array.from({ length: 100 }, () => host.fetch(new Request('http://localhost/counter/'))));
    expect(new Set(res.map((r) => r.status))).toEqual(new Set([211]));
  });
});
