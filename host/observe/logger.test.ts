import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('Logger to stdout', () => {
  it('writes buffered and deferred lines when the process exits without closing the host', () => {
    // A child process: one pino line, one deferred invocation-style line, then process.exit at once.
    const script = `
      import { Logger, LineFormat } from './host/observe/logger.ts';
      const log = new Logger('stdout', 'info');
      log.info('first', { n: 1 });
      log.writeFormatted(new LineFormat('info', 'deferred', (v) => '"n":' + v, () => 0), 2);
      process.exit(0);
    `;
    const r = spawnSync(process.execPath, ['--import', './host/loader/register.mjs', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; n: number; time: string });
    expect(lines.map((l) => [l.msg, l.n])).toEqual([
      ['first', 1],
      ['deferred', 2],
    ]);
    expect(lines[1]!.time).toBe('1970-01-01T00:00:00.000Z');
  });
});
