/**
 * Structured host logs: one JSON object per line with `level` (a name),
 * `time` (ISO 8601) and `msg`, plus whatever fields the caller adds
 * (function, request id, …). Lines are formatted by pino (or, for the line
 * per invocation, by {@link Logger.writeLine}) and go to stdout through a
 * {@link LineWriter} (asynchronous, one write per batch of lines, bounded),
 * or to a caller's function. The level comes from
 * `MICRON_LOG_LEVEL` (debug | info | warn | error; default info).
 */
import { pino, type Logger as Pino } from 'pino';
import { LineWriter } from './line-writer.js';

/** Log levels in increasing severity. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];


/** Parses a level name (as in `MICRON_LOG_LEVEL`); undefined or an unknown name gives `fallback`. */
export function parseLogLevel(value: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  const v = value?.trim().toLowerCase();
  return LEVELS.includes(v as LogLevel) ? (v as LogLevel) : fallback;
}

/** A small structured logger over pino. */
export class Logger {
  /** The pino instance. */
  readonly pino: Pino;
  /** The stdout writer, when lines go to stdout. */
  private readonly writer: LineWriter | undefined;
  /** Where lines go (pino's destination): {@link Logger.writeLine} writes there directly. */
  private readonly dest: { write(s: string): unknown };
  /** `msg` values of {@link writeLine} as JSON (a handful of constant messages). */
  private readonly msgJson = new Map<string, string>();

  /**
   * @param sink where lines go, one call per line without the newline; `undefined` silences the logger;
   *             `'stdout'` writes to file descriptor 1, buffered.
   */
  constructor(sink: ((line: string) => void) | 'stdout' | undefined, level: LogLevel = 'info') {
    const options = {
      level: sink ? level : 'silent',
      base: undefined,
      timestamp: () => `,"time":"${isoNow()}"`,
      formatters: { level: (label: string) => ({ level: label }) },
    };
    if (sink === 'stdout') {
      this.writer = new LineWriter(1);
      this.pino = pino(options, this.writer);
      this.dest = this.writer;
    } else {
      const write = sink ?? (() => undefined);
      this.dest = { write: (s: string) => write(s.endsWith('\n') ? s.slice(0, -1) : s) };
      this.pino = pino(options, this.dest);
      this.writer = undefined;
    }
  }

  /** True when lines at `level` are written. */
  enabled(level: LogLevel): boolean {
    return this.pino.isLevelEnabled(level);
  }

  /**
   * Writes a line whose fields are already JSON (`"a":1,"b":"x"`), with the
   * same `level`, `time` and `msg` as pino's lines, when `level` is enabled.
   * For the one line per invocation: the caller serialises a known shape
   * much faster than a generic serialiser can.
   */
  writeLine(level: LogLevel, msg: string, jsonFields: string): void {
    if (!this.pino.isLevelEnabled(level)) return;
    let m = this.msgJson.get(msg);
    if (m === undefined) {
      m = JSON.stringify(msg);
      if (this.msgJson.size < 16) this.msgJson.set(msg, m);
    }
    this.dest.write(`{"level":"${level}","time":"${isoNow()}","msg":${m},${jsonFields}}\n`);
  }

  /** Writes one log line when `level` is enabled. */
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (fields) this.pino[level](fields, msg);
    else this.pino[level](msg);
  }

  /** Writes at debug level. */
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log('debug', msg, fields);
  }
  /** Writes at info level. */
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log('info', msg, fields);
  }
  /** Writes at warn level. */
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log('warn', msg, fields);
  }
  /** Writes at error level. */
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log('error', msg, fields);
  }

  /**
   * Writes out buffered lines (stdout destination); awaited when the host
   * closes. Waits at most `timeoutMs` for a descriptor that does not keep up.
   */
  async flush(timeoutMs = 2000): Promise<void> {
    const writer = this.writer;
    if (!writer) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([writer.drain(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }
}

let lastMs = 0;
let lastIso = '';

/** The current time in ISO 8601, formatted at most once per millisecond. */
export function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}
