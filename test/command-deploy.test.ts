/**
 * Deploying command (`wasi:cli/run`) components: the core module the host
 * runs may import WASI preview 1 and Micron's `micron:http/outbound`, and
 * nothing else (422 `unsupported_imports` at deploy, naming the import).
 * The components are built the way `micron build` builds a Go function
 * (a world like `micron:guest/command` embedded, then the preview1 command
 * adapter), from hand-written modules, so no Go toolchain is needed. Both
 * embed against one temporary WIT folder: jco's wasm-tools sees only the
 * folders preopened at its first use in a process.
 */
import { readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { componentEmbed, componentNew, parse } from '@bytecodealliance/jco';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../host/index.js';
import { withPreopen } from '../sdk/build/preopen.ts';
import { admin, tempHost, tempWitDir } from './helpers.js';

const ADAPTER = resolve('node_modules/@bytecodealliance/jco/lib/wasi_snapshot_preview1.command.wasm');
const P1 = 'wasi_snapshot_preview1';

/** A command that answers `Status: 200`, a blank line and `ok`, with `imports` added. */
const COMMAND_WAT = (imports: string) => `(module
  (import "${P1}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  ${imports}
  (memory (export "memory") 1)
  (data (i32.const 64) "Status: 200\\n\\nok")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 15))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))`;

const OUTBOUND_IMPORT = '(import "micron:http/outbound@0.1.0" "start" (func (param i32 i32 i32) (result i32)))';

let host: Host;
let cleanup: () => Promise<void>;
let witDir: string;

beforeAll(async () => {
  ({ host, cleanup } = await tempHost());
  witDir = tempWitDir(
    `package test:bad@0.1.0;
interface frob { frob: func(); }
world command { import micron:http/outbound@0.1.0; }
world command-and-more { import micron:http/outbound@0.1.0; import frob; }
`,
  );
}, 60_000);

afterAll(async () => {
  await cleanup();
  rmSync(witDir, { recursive: true, force: true });
});

/** Embeds `world` into the module of `wat` and wraps it with the preview1 command adapter. */
async function commandComponent(wat: string, world: string): Promise<Uint8Array> {
  const core = await parse(wat);
  const embedded = await withPreopen(witDir, () => componentEmbed({ binary: core, witPath: witDir, world }));
  return componentNew(embedded, [[P1, readFileSync(ADAPTER)]]);
}

const deploy = (name: string, body: Uint8Array) =>
  host.adminFetch(admin(`/v1/functions/${name}`, { method: 'PUT', body: body as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'application/wasm' } }));

describe('deploying a command component', () => {
  it('accepts a module that imports micron:http/outbound, and runs it', async () => {
    const component = await commandComponent(COMMAND_WAT(OUTBOUND_IMPORT), 'command');
    const res = await deploy('cmd-outbound', component);
    expect(res.status).toBe(201);
    const info = (await res.json()) as { imports: string[] };
    expect(info.imports).toContain('micron:http/outbound@0.1.0');
    const answer = await host.fetch(new Request('http://localhost/cmd-outbound/'));
    expect([answer.status, await answer.text()]).toEqual([200, 'ok']);
  });

  it('refuses with 422 unsupported_imports a module that imports anything else, naming it', async () => {
    const component = await commandComponent(COMMAND_WAT(`${OUTBOUND_IMPORT} (import "test:bad/frob@0.1.0" "frob" (func))`), 'command-and-more');
    const res = await deploy('cmd-frob', component);
    expect(res.status).toBe(422);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('unsupported_imports');
    expect(error.message).toBe(
      'a command may import only wasi_snapshot_preview1 and micron:http/outbound@0.1.0 functions; this one also imports test:bad/frob@0.1.0.frob (function)',
    );
  });
});
