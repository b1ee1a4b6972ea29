/**
 * `jco serve` for tests that check a component runs outside Micron too
 * (preview2-shim). jco serve starts its server in a child process of its own;
 * stopping only jco's process would leave that child listening forever, so
 * the server runs in its own process group and the whole group is stopped.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const JCO = path.join(fileURLToPath(new URL('..', import.meta.url)), 'node_modules', '@bytecodealliance', 'jco', 'dist', 'jco.js');

/** A running `jco serve`: its base URL, and how to stop it with every process it started. */
export interface JcoServer {
  url: string;
  stop(): void;
}

/** Starts `jco serve wasm` on a free loopback port; resolves once it listens. */
export async function jcoServe(wasm: string, env: Record<string, string> = {}): Promise<JcoServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [JCO, 'serve', wasm, '--port', String(port), '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    detached: true,
  });
  const stop = (): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is already gone
    }
  };
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`jco serve did not start:\n${output}`)), 30_000);
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('Server listening')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`jco serve exited with ${code}:\n${output}`));
      });
    });
  } catch (e) {
    stop();
    throw e;
  }
  return { url: `http://127.0.0.1:${port}`, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
