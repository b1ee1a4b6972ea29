/**
 * The Go SDK end to end: the committed Go components run through
 * CommandRunner (no Go needed), and, when Go is installed, go-hello and a
 * state-probing program are built from source with `buildGo` and run in both
 * snapshot and fresh mode. Without Go the build tests are skipped with the
 * reason printed, or fail in CI (test/toolchains.ts).
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readComponent } from '../host/compile/component-binary.ts';
import { CommandRunner, findCommandModule } from '../host/runtime/command-runner.ts';
import type { CommandRequest } from '../host/runtime/command-runner.ts';
import { buildGo } from '../sdk/build/go.ts';
import { checkToolchain, guestToolchain } from './toolchains.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dec = new TextDecoder();
const enc = new TextEncoder();

function request(url: string, over: Partial<CommandRequest> = {}): CommandRequest {
  return { method: 'GET', url: new URL(url, 'http://fn.local'), headers: [], body: new Uint8Array(), env: {}, requestId: 'r', ...over };
}

async function runnerForComponent(file: string, mode: 'auto' | 'fresh' = 'auto'): Promise<CommandRunner> {
  const core = findCommandModule(readComponent(await readFile(file)).modules);
  if (!core) throw new Error(`${file}: no command module`);
  return CommandRunner.compile(core, { mode });
}

describe('committed Go components', () => {
  it('go-hello answers 200 text/plain "Hello from Go!", from a snapshot', async () => {
    const runner = await runnerForComponent(path.join(ROOT, 'components/go-hello/go-hello.wasm'));
    expect(runner.modeFor({})).toBe('snapshot');
    for (let i = 0; i < 3; i++) {
      const res = await runner.run(request('/anything'));
      expect(res.status).toBe(200);
      expect(res.headers).toEqual([['Content-Type', 'text/plain; charset=utf-8']]);
      expect(dec.decode(res.body)).toBe('Hello from Go!\n');
    }
  });

  it('writes the snapshot instance back after a response, off the next request\'s path', async () => {
    const runner = await runnerForComponent(path.join(ROOT, 'components/go-hello/go-hello.wasm'));
    runner.modeFor({}); // prepares the snapshot: the instance starts clean
    await runner.run(request('/'));
    expect(runner.restoreCount).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(runner.restoreCount).toBe(1);
    await runner.run(request('/')); // clean already: no write-back inside the request
    expect(runner.restoreCount).toBe(1);
  });

  it('go-json-api routes with path params, echoes POSTs with 201 and answers 404 in JSON', async () => {
    const runner = await runnerForComponent(path.join(ROOT, 'components/go-json-api/go-json-api.wasm'));
    const get = await runner.run(request('/items/42'));
    expect([get.status, JSON.parse(dec.decode(get.body))]).toEqual([200, { id: '42' }]);
    const post = await runner.run(
      request('/items', { method: 'POST', headers: [['content-type', 'application/json']], body: enc.encode('{"name":"pen","qty":2}') }),
    );
    expect([post.status, JSON.parse(dec.decode(post.body))]).toEqual([201, { name: 'pen', qty: 2 }]);
    const bad = await runner.run(request('/items', { method: 'POST', body: enc.encode('nope') }));
    expect(bad.status).toBe(400);
    const missing = await runner.run(request('/nowhere'));
    expect([missing.status, JSON.parse(dec.decode(missing.body))]).toEqual([404, { error: 'not found' }]);
    expect(missing.headers).toContainEqual(['Content-Type', 'application/json']);
  });

  it('go-proxy cannot reach the network: outbound HTTP fails cleanly with 502', async () => {
    const runner = await runnerForComponent(path.join(ROOT, 'components/go-proxy/go-proxy.wasm'));
    const res = await runner.run(request('/?url=http://127.0.0.1:1/'));
    expect(res.status).toBe(502);
    expect(JSON.parse(dec.decode(res.body))).toMatchObject({ supported: false });
  });
});

const go = await guestToolchain('go', 'test/sdk-go.test.ts');

/** Reports what a request can see of the instance's state. */
const PROBE = `package main

import (
	"encoding/json"
	"io"
	"math/rand"
	"net/http"
	"os"
	"time"

	"micron.dev/sdk/go/micron"
)

var counter int          // incremented per request: must be 1 every time
var initEnv = os.Getenv("CONFIGURED") // read during init

func main() {
	micron.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		counter++
		switch r.URL.Path {
		case "/crash": // a panic outside the handler's goroutine: the program exits with 2
			go func() { panic("crash") }()
			time.Sleep(time.Second)
		case "/big": // grows linear memory past the snapshot's size
			big := make([]byte, 64<<20)
			for i := range big {
				big[i] = 1
			}
		}
		body, _ := io.ReadAll(r.Body)
		json.NewEncoder(w).Encode(map[string]any{
			"counter": counter, "initEnv": initEnv, "configured": os.Getenv("CONFIGURED"),
			"id": micron.RequestID(), "rand": rand.Int63(), "body": string(body), "path": r.URL.Path,
			"ua": r.Header.Get("User-Agent"),
		})
	}))
}
`;

describe('Go SDK built from source', () => {
  checkToolchain(go);
  let temp: string;
  beforeAll(async () => {
    temp = await mkdtemp(path.join(os.tmpdir(), 'micron-sdk-go-test-'));
  });
  afterAll(async () => {
    await rm(temp, { recursive: true, force: true });
  });

  it.skipIf(go.skip)('builds go-hello into a component whose command module answers "Hello from Go!"', async () => {
    const dir = path.join(temp, 'go-hello');
    await cp(path.join(ROOT, 'components/go-hello'), dir, { recursive: true, filter: (src) => !src.endsWith('.wasm') });
    const progress: string[] = [];
    const { output, bytes } = await buildGo(dir, { onProgress: (m) => progress.push(m) });
    expect(output).toBe(path.join(dir, 'go-hello.wasm'));
    expect(bytes).toBeGreaterThan(1_000_000);
    expect(progress.join('\n')).toMatch(/go build/);
    const runner = await runnerForComponent(output);
    const res = await runner.run(request('/'));
    expect([res.status, dec.decode(res.body)]).toEqual([200, 'Hello from Go!\n']);
    expect(res.headers).toEqual([['Content-Type', 'text/plain; charset=utf-8']]);
  }, 120_000);

  it.skipIf(go.skip)('starts every request from the same post-init state, with its own environment and randomness', async () => {
    const dir = path.join(temp, 'probe');
    await cp(path.join(ROOT, 'components/go-hello'), dir, { recursive: true, filter: (src) => !src.endsWith('.wasm') });
    await writeFile(path.join(dir, 'main.go'), PROBE);
    const { output } = await buildGo(dir, {});
    for (const mode of ['auto', 'fresh'] as const) {
      const runner = await runnerForComponent(output, mode);
      expect(runner.modeFor({ CONFIGURED: 'a' })).toBe(mode === 'auto' ? 'snapshot' : 'fresh');
      const seen = [];
      for (let i = 0; i < 4; i++) {
        const env = { CONFIGURED: i < 2 ? 'a' : 'b' };
        const res = await runner.run(
          request(`/p/${i}`, { env, requestId: `id-${i}`, method: 'POST', body: enc.encode(`body-${i}`), headers: [['user-agent', `ua-${i}`]] }),
        );
        expect(res.status).toBe(200);
        seen.push(JSON.parse(dec.decode(res.body)) as Record<string, unknown>);
      }
      seen.forEach((s, i) => {
        const configured = i < 2 ? 'a' : 'b';
        expect(s).toMatchObject({ counter: 1, initEnv: configured, configured, id: `id-${i}`, body: `body-${i}`, path: `/p/${i}`, ua: `ua-${i}` });
      });
      expect(new Set(seen.map((s) => s['rand'])).size).toBe(seen.length);

      // A crash (exit 2) and a request that grows memory leave nothing behind for the next request.
      await expect(runner.run(request('/crash'))).rejects.toMatchObject({ code: 'guest_error', exitCode: 2, stderr: expect.stringMatching(/panic: crash/) });
      expect((await runner.run(request('/big'))).status).toBe(200);
      const after = JSON.parse(dec.decode((await runner.run(request('/after', { env: { CONFIGURED: 'a' } }))).body)) as Record<string, unknown>;
      expect(after).toMatchObject({ counter: 1, configured: 'a', path: '/after' });
    }
  }, 120_000);
});
