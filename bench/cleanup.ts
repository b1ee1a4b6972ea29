/**
 * What the benches leave behind until they finish: server process groups and
 * temporary directories. {@link cleanupNow} is synchronous so that exit and
 * signal handlers can call it.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const groups = new Set<ChildProcess>();
const dirs = new Set<string>();

/** Sends `signal` to the process group led by `child` (spawned with `detached: true`). */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Registers a process group to kill, or (`false`) forgets it once it was stopped. */
export function trackGroup(child: ChildProcess, alive = true): void {
  if (alive) groups.add(child);
  else groups.delete(child);
}

/** Registers a temporary directory to remove, or (`false`) forgets it once removed. */
export function trackDir(dir: string, alive = true): void {
  if (alive) dirs.add(dir);
  else dirs.delete(dir);
}

/** SIGKILLs every tracked process group and removes every tracked directory. */
export function cleanupNow(): void {
  for (const c of groups) signalGroup(c, 'SIGKILL');
  groups.clear();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

/** On SIGINT or SIGTERM: clean up, say so on stderr, exit 1. */
export function cleanupOnSignals(): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    cleanupNow();
    process.stderr.write(`bench: ${signal}, servers stopped and temporary files removed\n`);
    process.exit(1);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
