/**
 * The Go SDK end to end: the committed Go components run through
 * CommandRunner (no Go needed), and, when Go is installed, go-hello, a
 * state-probing program and an outbound HTTP probe are built from source
 * with `buildGo` and run in both snapshot and fresh mode (outbound requests
 * go to a real upstream on loopback). Without Go the build tests are skipped with the
 * reason printed, or fail in CI (test/toolchains.ts).
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readComponent } from '../host/compile/component-binary.ts';
import { CommandRunner, findCommandModule } from '../host/runtime/command-runner.ts';
import type { CommandRequest, OutboundPolicy } from '../host/runtime/command-runner.ts';
import { DeadlineExceeded } from '../host/runtime/watchdog/index.ts';
import { buildGo, findGo } from '../sdk/build/go.ts';
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

  it('go-proxy asks the host for outbound HTTP: 502 with the reason when denied, 400 without ?url=', async () => {
    const runner = await runnerForComponent(path.join(ROOT, 'components/go-proxy/go-proxy.wasm'));
    const res = await runner.run(request('/?url=http://127.0.0.1:1/', { outbound: { allowedHosts: [], maxResponseBytes: 1024, maxOutboundResponseBytes: 1024 } }));
    expect(res.status).toBe(502);
    expect(JSON.parse(dec.decode(res.body))).toEqual({
      error: 'Get "http://127.0.0.1:1/": micron: outbound request denied: host "127.0.0.1:1" is not in this function\'s allowedHosts',
    });
    const usage = await runner.run(request('/'));
    expect([usage.status, JSON.parse(dec.decode(usage.body))]).toEqual([400, { error: 'missing ?url=' }]);
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

  it.skipIf(go.skip)("passes the SDK's own Go tests (go test, natively: wire format, CGI conversions)", async () => {
    const { go: bin } = await findGo();
    const env = { ...process.env, GOTOOLCHAIN: 'local', GOPROXY: 'off', GOFLAGS: '', GOWORK: 'off', GOOS: '', GOARCH: '' };
    const { stdout } = await promisify(execFile)(bin, ['test', './...'], { cwd: path.join(ROOT, 'sdk/go'), env });
    expect(stdout).toMatch(/^ok\s+micron\.dev\/sdk\/go\/micron/m);
  }, 120_000);

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

/** Outbound HTTP from Go: each path makes requests to `?url=` and reports what net/http saw, as JSON. */
const OUTBOUND_PROBE = `package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"micron.dev/sdk/go/micron"
)

// A request during init, before Serve: the snapshot's init run cannot wait for it.
var initErr = func() string {
	if _, err := http.Get("http://127.0.0.1:9/init"); err != nil {
		return err.Error()
	}
	return ""
}()

type result struct {
	Status  int               \`json:"status,omitempty"\`
	Body    string            \`json:"body,omitempty"\`
	Header  map[string]string \`json:"header,omitempty"\`
	Error   string            \`json:"error,omitempty"\`
	Kind    string            \`json:"kind,omitempty"\`
	Timeout bool              \`json:"timeout,omitempty"\`
}

func fetch(client *http.Client, method, url, body string) result {
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, reader)
	if err != nil {
		return result{Error: err.Error()}
	}
	req.Header.Set("X-From", "go")
	if body != "" {
		req.Header.Set("Content-Type", "text/plain")
	}
	resp, err := client.Do(req)
	if err != nil {
		r := result{Error: err.Error()}
		var oe *micron.OutboundError
		if errors.As(err, &oe) {
			r.Kind = oe.Kind
		}
		var te interface{ Timeout() bool }
		if errors.As(err, &te) {
			r.Timeout = te.Timeout()
		}
		return r
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	h := map[string]string{}
	for k := range resp.Header {
		h[k] = strings.Join(resp.Header.Values(k), "|")
	}
	return result{Status: resp.StatusCode, Body: string(b), Header: h}
}

func main() {
	micron.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		url := q.Get("url")
		var out any
		switch r.URL.Path {
		case "/get":
			out = fetch(http.DefaultClient, "GET", url, "")
		case "/post":
			body, _ := io.ReadAll(r.Body)
			out = fetch(http.DefaultClient, "POST", url, string(body))
		case "/timeout":
			ms, _ := strconv.Atoi(q.Get("ms"))
			client := &http.Client{Transport: &micron.Transport{}, Timeout: time.Duration(ms) * time.Millisecond}
			out = fetch(client, "GET", url, "")
		case "/parallel":
			n, _ := strconv.Atoi(q.Get("n"))
			results := make([]result, n)
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					results[i] = fetch(http.DefaultClient, "GET", url+"&i="+strconv.Itoa(i), "")
				}(i)
			}
			wg.Wait()
			out = results
		case "/init":
			out = map[string]string{"initErr": initErr}
		}
		json.NewEncoder(w).Encode(out)
	}))
}
`;

/** What the probe reports for one request. */
interface FetchResult {
  status?: number;
  body?: string;
  header?: Record<string, string>;
  error?: string;
  kind?: string;
  timeout?: boolean;
}

describe('Go outbound HTTP (micron:http/outbound), built from source', () => {
  checkToolchain(go);
  let temp: string;
  let output: string;
  let origin: string;
  /** Requests the upstream received, in order. */
  const hits: string[] = [];
  /** Most /slow requests the upstream was answering at once. */
  let slowPeak = 0;
  let slowNow = 0;
  const gates = new Map<string, http.ServerResponse[]>();
  const sockets = new Set<Socket>();
  const upstream = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://up');
      hits.push(`${req.method} ${url.pathname}${url.search}`);
      const body = Buffer.concat(chunks).toString();
      if (url.pathname === '/echo') {
        res.writeHead(201, { 'content-type': 'text/x-test', 'set-cookie': ['a=1', 'b=2'] });
        res.end(`${req.method} ${req.url} body=${body} from=${req.headers['x-from']} type=${req.headers['content-type']} ua=${req.headers['user-agent']}`);
      } else if (url.pathname.startsWith('/gate/')) {
        // Answers nobody until n requests for this gate are waiting: proves they were in flight together.
        const waiting = gates.get(url.pathname) ?? [];
        gates.set(url.pathname, waiting);
        waiting.push(res);
        if (waiting.length === Number(url.searchParams.get('n'))) for (const r of waiting.splice(0)) r.end('released');
      } else if (url.pathname === '/slow') {
        slowPeak = Math.max(slowPeak, ++slowNow);
        setTimeout(() => {
          slowNow--;
          res.end('slow');
        }, 100);
      } else if (url.pathname === '/big') {
        res.end(Buffer.alloc(5000, 120));
      } else if (url.pathname !== '/hang') {
        res.writeHead(404).end();
      }
    });
  });
  upstream.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    if (go.skip) return;
    temp = await mkdtemp(path.join(os.tmpdir(), 'micron-go-outbound-test-'));
    const dir = path.join(temp, 'outbound');
    await cp(path.join(ROOT, 'components/go-hello'), dir, { recursive: true, filter: (src) => !src.endsWith('.wasm') });
    await writeFile(path.join(dir, 'main.go'), OUTBOUND_PROBE);
    ({ output } = await buildGo(dir, {}));
  }, 120_000);
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    for (const waiting of gates.values()) for (const r of waiting) r.destroy();
    await new Promise((resolve) => upstream.close(resolve));
    if (temp) await rm(temp, { recursive: true, force: true });
  });

  const policy = (allowedHosts = [new URL(origin).host], over: Partial<OutboundPolicy> = {}): OutboundPolicy => ({
    allowedHosts,
    maxResponseBytes: 1 << 20,
    maxOutboundResponseBytes: 1 << 20,
    ...over,
  });
  const probe = (route: string, target: string, over: Partial<CommandRequest> = {}) =>
    request(`${route}${route.includes('?') ? '&' : '?'}url=${encodeURIComponent(target)}`, { outbound: policy(), deadlineMs: 10_000, ...over });
  const json = <T = FetchResult>(res: { body: Uint8Array }): T => JSON.parse(dec.decode(res.body)) as T;

  it.skipIf(go.skip)('fetches through the host while the program is paused, in snapshot and fresh mode alike', async () => {
    for (const mode of ['auto', 'fresh'] as const) {
      const runner = await runnerForComponent(output, mode);
      expect(runner.modeFor({})).toBe(mode === 'auto' ? 'snapshot' : 'fresh');
      const got = await runner.run(probe('/get', `${origin}/echo?x=1`));
      expect(got.suspensions).toBe(1);
      expect(json(got)).toEqual({
        status: 201,
        body: 'GET /echo?x=1 body= from=go type=undefined ua=Go-http-client/1.1',
        header: { 'Content-Type': 'text/x-test', 'Set-Cookie': 'a=1|b=2', 'Content-Length': expect.any(String), Date: expect.any(String) },
      });
      const posted = await runner.run(probe('/post', `${origin}/echo`, { method: 'POST', body: enc.encode('payload') }));
      expect(json(posted)).toMatchObject({ status: 201, body: 'POST /echo body=payload from=go type=text/plain ua=Go-http-client/1.1' });
    }
  });

  it.skipIf(go.skip)('gives net/http a clear error for a destination off the allow-list, and nothing reaches it', async () => {
    const runner = await runnerForComponent(output);
    const before = hits.length;
    const res = await runner.run(probe('/get', `${origin}/echo`, { outbound: policy(['api.example.com']) }));
    expect(res.suspensions).toBe(0);
    expect(json(res)).toEqual({
      error: `Get "${origin}/echo": micron: outbound request denied: host "${new URL(origin).host}" is not in this function's allowedHosts`,
      kind: 'denied',
    });
    // No outbound policy at all denies everything too.
    expect(json(await runner.run(probe('/get', `${origin}/echo`, { outbound: undefined })))).toMatchObject({ kind: 'denied' });
    expect(hits.length).toBe(before);
  });

  it.skipIf(go.skip)('reports limits, refused connections and bad URLs as errors of their kind', async () => {
    const runner = await runnerForComponent(output);
    const big = json(await runner.run(probe('/get', `${origin}/big`, { outbound: policy(undefined, { maxOutboundResponseBytes: 1000 }) })));
    expect(big).toMatchObject({ kind: 'too-large', error: expect.stringContaining("is larger than the function's limit of 1000 bytes") });
    const refused = json(await runner.run(probe('/get', 'http://127.0.0.1:9/', { outbound: policy(['127.0.0.1:9']) })));
    expect(refused).toMatchObject({ kind: 'connection', error: expect.stringContaining('micron: outbound request to http://127.0.0.1:9/ failed: ') });
    const relative = json(await runner.run(probe('/get', 'ftp://127.0.0.1/x')));
    expect(relative).toMatchObject({ kind: 'invalid-request', error: expect.stringContaining('is not an absolute http or https URL') });
  });

  it.skipIf(go.skip)("honours the client's own timeout (http.Client.Timeout) as a timeout error", async () => {
    const runner = await runnerForComponent(output);
    const started = performance.now();
    const res = json(await runner.run(probe('/timeout?ms=100', `${origin}/hang`)));
    expect(performance.now() - started).toBeLessThan(5000);
    // The host's timeout, or the client's own context deadline when Go's timer got to run first: a timeout either way.
    expect(res.timeout).toBe(true);
    expect(res.error).toMatch(new RegExp(`^Get "${origin}/hang": (micron: outbound request to ${origin}/hang timed out after \\d+ ms|context deadline exceeded)`));
  });

  it.skipIf(go.skip)('cannot wait during init (before Serve, the snapshot run) nor in a synchronous run', async () => {
    const runner = await runnerForComponent(output);
    expect(json<{ initErr: string }>(await runner.run(probe('/init', origin)))).toEqual({
      initErr:
        'Get "http://127.0.0.1:9/init": micron: outbound HTTP is not available before micron.Serve: initialisation runs once, for the snapshot every request starts from',
    });
    expect(json(runner.runSync(probe('/get', `${origin}/echo`)))).toMatchObject({
      kind: 'unavailable',
      error: expect.stringContaining('micron: outbound HTTP is not available in a synchronous run'),
    });
  });

  it.skipIf(go.skip)("lets one request's goroutines fetch in parallel", async () => {
    const runner = await runnerForComponent(output);
    // The gate answers only once all three requests are in: they were in flight together.
    const res = await runner.run(probe('/parallel?n=3', `${origin}/gate/parallel?n=3`));
    expect(json<FetchResult[]>(res).map((r) => [r.status, r.body])).toEqual([
      [200, 'released'],
      [200, 'released'],
      [200, 'released'],
    ]);
  });

  it.skipIf(go.skip)('serves other requests while some are paused: a pool of instances per environment, bounded', async () => {
    const runner = await runnerForComponent(output);
    // Four requests, each paused until all four have reached the upstream.
    const all = await Promise.all([0, 1, 2, 3].map(() => runner.run(probe('/get', `${origin}/gate/pool?n=4`))));
    expect(all.map((r) => json(r).body)).toEqual(['released', 'released', 'released', 'released']);
    // A request that does not fetch runs while others wait.
    const waiting = runner.run(probe('/get', `${origin}/gate/later?n=2`));
    const meanwhile = await runner.run(probe('/init', origin));
    expect(meanwhile.status).toBe(200);
    const second = await runner.run(probe('/get', `${origin}/gate/later?n=2`));
    expect(json(await waiting).body).toBe('released');
    expect(json(second).body).toBe('released');

    // With one instance, requests take turns: never two at the upstream at once, and all complete.
    const single = await CommandRunner.compile(findCommandModule(readComponent(await readFile(output)).modules)!, { maxInstances: 1 });
    slowPeak = 0;
    const turns = await Promise.all([0, 1, 2].map(() => single.run(probe('/get', `${origin}/slow`))));
    expect(turns.map((r) => json(r).body)).toEqual(['slow', 'slow', 'slow']);
    expect(slowPeak).toBe(1);
  });

  it.skipIf(go.skip)('abandons a request still waiting at its deadline (DeadlineExceeded) and never reuses its instance', async () => {
    const runner = await runnerForComponent(output);
    const started = performance.now();
    await expect(runner.run(probe('/get', `${origin}/hang`, { deadlineMs: 300 }))).rejects.toBeInstanceOf(DeadlineExceeded);
    expect(performance.now() - started).toBeLessThan(5000);
    const next = await runner.run(probe('/get', `${origin}/echo?after=1`));
    expect(json(next)).toMatchObject({ status: 201, body: expect.stringContaining('GET /echo?after=1') });
  });
});
