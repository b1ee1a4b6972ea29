/**
 * Tenant isolation under a flood: the latency of one function (hello) alone,
 * then while another function (stream, each request ~500 ms) is flooded far
 * past its concurrency limit, measured in the same run on one `micron serve`.
 * Reports the loaded/unloaded latency ratio (the bar: within 2×) and
 * how the flood was answered (429s with Retry-After are by design).
 *
 * Run: `node --import ./host/loader/register.mjs bench/isolation.ts` (BENCH_DURATION=seconds per phase, default 8).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon, { type Result } from 'autocannon';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN = 'bench-isolation-token';
const seconds = Number(process.env.BENCH_DURATION ?? 8);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'micron-isolation-'));
  const server = spawn(process.execPath, [join(ROOT, 'bin/micron.js'), 'serve', '--port', '0', '--admin-port', '0', '--host', '127.0.0.1', '--data-dir', dir, '--no-examples'], {
    env: { ...process.env, MICRON_ADMIN_TOKEN: TOKEN, MICRON_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const ports = await new Promise<{ public: number; admin: number }>((ok, fail) => {
      const rl = createInterface({ input: server.stdout! });
      rl.on('line', (line) => {
        try {
          const m = JSON.parse(line) as { msg?: string; public: number; admin: number };
          if (m.msg === 'listening') ok(m);
        } catch {
          /* not the ready line */
        }
      });
      server.once('exit', (code) => fail(new Error(`micron serve exited with ${code}`)));
    });
    const deploy = async (name: string, config: object): Promise<void> => {
      const res = await fetch(`http://127.0.0.1:${ports.admin}/v1/functions/${name}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/wasm', 'x-micron-config': JSON.stringify(config) },
        body: readFileSync(join(ROOT, `components/${name}/${name}.wasm`)),
      });
      if (!res.ok) throw new Error(`deploy ${name}: ${res.status} ${await res.text()}`);
    };
    await deploy('hello', {});
    await deploy('stream', { limits: { maxInFlight: 20, maxQueued: 20, queueTimeoutMs: 1000 } });
    const base = `http://127.0.0.1:${ports.public}`;
    const run = (path: string, connections: number): Promise<Result> =>
      autocannon({ url: `${base}${path}`, connections, duration: seconds, timeout: 30 }) as unknown as Promise<Result>;

    await run('/hello/', 10); // warm-up
    const alone = await run('/hello/', 10);
    const [loaded, flood] = await Promise.all([run('/hello/', 10), run('/stream/', 200)]);

    const rows = [
      ['hello alone (baseline)', alone],
      ['hello while stream is flooded', loaded],
      ['stream flood (200 connections, limit 20 + 20 queued)', flood],
    ] as const;
    const lines = [
      '# Tenant isolation under a flood',
      '',
      `- date: ${new Date().toISOString()}`,
      `- command: \`node --import ./host/loader/register.mjs bench/isolation.ts\` (${seconds} s per phase)`,
      '',
      '| load | req/s | p50 ms | p99 ms | 2xx | non-2xx (429 by design for the flood) | errors |',
      '| --- | --: | --: | --: | --: | --: | --: |',
      ...rows.map(([name, r]) => `| ${name} | ${Math.round(r.requests.average)} | ${r.latency.p50} | ${r.latency.p99} | ${r['2xx']} | ${r.non2xx} | ${r.errors} |`),
      '',
      `- hello latency while stream is flooded / alone: p50 ${(loaded.latency.p50 / Math.max(alone.latency.p50, 0.001)).toFixed(2)}×, p99 ${(loaded.latency.p99 / Math.max(alone.latency.p99, 0.001)).toFixed(2)}× (bar: within 2×)`,
      `- hello failures while flooded: ${loaded.non2xx + loaded.errors}`,
      '',
    ];
    const md = lines.join('\n');
    writeFileSync(join(ROOT, 'bench/results/latest-isolation.md'), md);
    process.stdout.write(md);
  } finally {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/isolation: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
