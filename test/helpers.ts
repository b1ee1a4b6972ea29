/** Shared helpers for integration tests: temp hosts and fixture components. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHost, type Host, type HostOptions } from '../host/index.js';

/** Bytes of a built fixture in components/<name>/<name>.wasm. */
export function fixture(name: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(readFileSync(new URL(`../components/${name}/${name}.wasm`, import.meta.url)));
}

/** A host on a fresh temp data dir; `cleanup` closes it and removes the dir. */
export async function tempHost(opts: HostOptions = {}): Promise<{ host: Host; dir: string; cleanup: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'micron-test-'));
  const host = await createHost({ dataDir: dir, adminToken: 'test-token-0123456789', log: false, ...opts });
  return {
    host,
    dir,
    cleanup: async () => {
      await host.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An admin API request with the test token. */
export function admin(path: string, init: RequestInit & { token?: string | null } = {}): Request {
  const headers = new Headers(init.headers);
  if (init.token !== null) headers.set('authorization', `Bearer ${init.token ?? 'test-token-0123456789'}`);
  return new Request(`http://127.0.0.1${path}`, { ...init, headers });
}

/**
 * A temporary WIT folder for test components: the vendored packages
 * (`wit/deps`) plus a `world.wit` holding `worldWit`. Remove it with `rmSync`.
 */
export function tempWitDir(worldWit: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'micron-wit-'));
  cpSync(resolve('wit/deps'), join(dir, 'deps'), { recursive: true });
  writeFileSync(join(dir, 'world.wit'), worldWit);
  return dir;
}

/** Reads a streamed response body as text, with the time (ms) each chunk arrived. */
export async function readChunks(res: Response): Promise<{ text: string; arrivals: number[] }> {
  const reader = res.body!.getReader();
  const arrivals: number[] = [];
  let text = '';
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    arrivals.push(Date.now());
    text += Buffer.from(r.value).toString();
  }
  return { text, arrivals };
}
