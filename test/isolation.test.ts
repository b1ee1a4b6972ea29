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
  const bytes = await buildWatComponent(counterWat());
  expect((await host.deploy('counter', bytes)).instanceMode).toBe('reused');
  // The same guest forced onto fresh instances, by giving it a start function.
  const withStart = counterWat().replace('(global $count (mut i32) (i32.const 0))', '(global $count (mut i32) (i32.const 0))\n  (func $init) (start $init)');
  expect((await host.deploy('counter-fresh', await buildWatComponent(withStart))).instanceMode).toBe('pooled-memory');
}, 60_000);

afterAll(async () => cleanup());

describe('isolation between requests', () => {
  it.each(['counter', 'counter-fresh'])('starts every request of %s from the initial globals and memory', async (name) => {
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      const res = await host.fetch(new Request(`http://localhost/${name}/`));
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(new Set(statuses)).toEqual(new Set([211]));
  });

  it('resets state after a request that trapped half way', async () => {
    // Traps at random after counting, so some requests leave dirty state behind.
    const wat = counterWat()
      .replace(
        '(memory (export "memory") 1)',
        '(import "wasi:random/random@0.2.12" "get-random-u64" (func $random (result i64)))\n  (memory (export "memory") 1)',
      )
      .replace(
        '(drop (call $set_status',
        '(if (i64.eqz (i64.and (call $random) (i64.const 1))) (then unreachable))\n    (drop (call $set_status',
      );
    await host.deploy('counter-trap', await buildWatComponent(wat));
    const statuses = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const res = await host.fetch(new Request('http://localhost/counter-trap/'));
      await res.arrayBuffer();
      statuses.add(res.status);
    }
    expect(statuses).toEqual(new Set([211, 500]));
  });

  it('keeps concurrent requests apart', async () => {
    const res = await Promise.all(Array.from({ length: 100 }, () => host.fetch(new Request('http://localhost/counter/'))));
    expect(new Set(res.map((r) => r.status))).toEqual(new Set([211]));
  });
});
