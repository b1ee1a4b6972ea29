/**
 * The real `micron` command in child processes, for end-to-end tests. Every
 * child started here is killed when the test file ends (or its worker exits),
 * even after a failed or timed-out test. Children get an environment without
 * MICRON_* variables, so a token or a data dir set in the developer's shell
 * cannot change what is tested; `keep` names the ones a test means to pass on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'micron.js');

const children = new Set<ChildProcess>();
function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}
process.once('exit', killAll);
afterAll(killAll);

/** The test runner's environment minus MICRON_* variables (except `keep`), plus `extra`. */
export function cliEnv(keep: readonly string[] = [], extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('MICRON_') && !keep.includes(key)) delete env[key];
  return { ...env, ...extra };
}

/** Starts `node bin/micron.js …args` in the checkout. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = cliEnv()): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** What a finished CLI command left. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a CLI command that ends by itself and collects its output. */
export function runCli(args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
