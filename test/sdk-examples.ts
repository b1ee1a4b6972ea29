/**
 * What the per-language SDK tests (sdk-assemblyscript, sdk-rust) share: a
 * scratch folder for builds, `jco serve` of what they built, a loopback
 * upstream for the proxy examples, and the checks of the example contracts
 * that every language's examples keep alike.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import { WitRegistry } from '../host/abi/wit.ts';
import { Compiler } from '../host/compile/compiler.ts';
import { DEFAULT_LIMITS } from '../host/config.ts';
import { Invocation, InvocationError } from '../host/runtime/invocation.ts';
import { guestPolicy } from '../host/runtime/runtime.ts';
import { hostInterfaces } from '../host/wasi/imports.ts';
import { jcoServe } from './jco-serve.ts';

/** A file's scratch space, removed with everything registered by `onCleanup` after its tests. */
export interface SdkScratch {
  dir: string;
  onCleanup(stop: () => void): void;
  /** `jco serve` of `wasm` (with the server process it starts), stopped after the file's tests; returns its base URL. */
  serve(wasm: string, env?: Record<string, string>): Promise<string>;
}

export function sdkScratch(prefix: string): SdkScratch {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const stops: Array<() => void> = [];
  afterAll(() => {
    for (const stop of stops) stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    onCleanup: (stop) => stops.push(stop),
    async serve(wasm, env = {}) {
      const server = await jcoServe(wasm, env);
      stops.push(server.stop);
      return server.url;
    },
  };
}

/** The leading bytes of a component: magic, then version 0x0d and layer 1. */
export function isComponent(bytes: Uint8Array): boolean {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
  return header.every((byte, i) => bytes[i] === byte);
}

/**
 * A loopback upstream for the proxy examples: answers 418 with
 * `application/x-test` and a 100,000-byte body that starts with
 * `<method> <url> `. Closed with the scratch space; returns its port.
 */
export async function startUpstream(scratch: SdkScratch): Promise<number> {
  const upstream = http.createServer((req, res) => {
    res.writeHead(418, { 'content-type': 'application/x-test' });
    res.end(`${req.method} ${req.url} `.padEnd(100_000, '.'));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  scratch.onCleanup(() => upstream.close());
  return (upstream.address() as net.AddressInfo).port;
}

/** A proxy example relayed `startUpstream`'s answer to `GET /up?a=1` whole. */
export async function expectUpstreamRelayed(proxied: Response): Promise<void> {
  expect(proxied.status).toBe(418);
  expect(proxied.headers.get('content-type')).toBe('application/x-test');
  const text = await proxied.text();
  expect(text.length).toBe(100_000);
  expect(text.startsWith('GET /up?a=1 ')).toBe(true);
}

/** The json-api examples' error answers: invalid JSON → 400, unknown path → 404, wrong method → 405. */
export async function expectJsonApiErrors(base: string): Promise<void> {
  const invalid = await fetch(`${base}/items`, { method: 'POST', body: '{"name":' });
  expect(invalid.status).toBe(400);
  expect(await invalid.json()).toEqual({ error: 'the body is not valid JSON' });

  const missing = await fetch(`${base}/nope`);
  expect(missing.status).toBe(404);
  expect(await missing.json()).toEqual({ error: 'not found' });

  const wrongMethod = await fetch(`${base}/items/1`, { method: 'DELETE' });
  expect(wrongMethod.status).toBe(405);
}

/** What one request to a component run by Micron's own runtime (in-process) did. */
export interface MicronRun {
  /** The response's status, or undefined when the invocation failed before it (`outcome` says how). */
  status: number | undefined;
  outcome: Invocation['outcome'];
  /** The guest's stdout and stderr lines. */
  logs: Invocation['logs'];
}

/** Runs `GET pathWithQuery` on the component at `file` in Micron and checks it trapped after writing exactly `stderr`. */
export async function expectTrapLogged(file: string, pathWithQuery: string, stderr: string): Promise<void> {
  const run = await runInMicron(new Uint8Array(readFileSync(file)), pathWithQuery);
  expect(run.status).toBeUndefined();
  expect(run.outcome).toMatchObject({ kind: 'trap' });
  expect(run.logs).toEqual([{ stream: 'stderr', line: stderr }]);
}

/** Deploys nothing and runs `GET pathWithQuery` once on `bytes` in Micron's runtime, as the host would. */
export async function runInMicron(bytes: Uint8Array, pathWithQuery: string): Promise<MicronRun> {
  const wit = WitRegistry.fromDirectory(path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'wit'));
  const compiler = new Compiler(wit, hostInterfaces(wit));
  const built = await compiler.build(bytes);
  const { prepared } = await compiler.load(bytes, built.meta, (name) => built.files.get(name));
  const invocation = new Invocation(prepared, 'test', guestPolicy(DEFAULT_LIMITS));
  const { response, done } = invocation.run(
    { method: 'GET', pathWithQuery, scheme: 'http', authority: 'localhost', headers: [['host', 'localhost']], body: null, maxBodyBytes: 0 },
    DEFAULT_LIMITS.deadlineMs,
  );
  const status = await response.then(
    async (r) => (await r.arrayBuffer(), r.status),
    (e: unknown) => {
      if (e instanceof InvocationError) return undefined;
      throw e;
    },
  );
  await done;
  return { status, outcome: invocation.outcome, logs: invocation.logs };
}
