/**
 * Structured host logs: one JSON object per line, with a time, a level and a
 * message, plus whatever fields the caller adds (function, request id, …).
 */

/** Log levels in increasing severity. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A small structured logger. */
export class Logger {
  constructor(
    private readonly sink: ((line: string) => void) | undefined,
    private readonly level: LogLevel = 'info',
  ) {}

  /** Writes one log line when `level` is enabled. */
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (!this.sink || ORDER[level] < ORDER[this.level]) return;
    this.sink(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log('error', msg, fields);
  }
}
