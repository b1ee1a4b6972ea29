/**
 * Structured host logs: one JSON object per line with `level` (a name),
 * `time` (ISO 8601) and `msg`, plus whatever fields the caller adds
 * (function, request id, …). Lines are formatted by pino (or, for the line
 * per invocation, by {@link Logger.writeFormatted}) and go to stdout through a
 * {@link LineWriter} (asynchronous, one write per batch of lines, bounded),
 * or to a caller's function. The level comes from
 * `MICRON_LOG_LEVEL` (debug | info | warn | error; default info).
 */
import { pino, type Logger as Pino } from 'pino';
import { LineWriter, type LineFormatter } from './line-writer.js';

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
  /** Where lines go (pino's destination): {@link Logger.writeFormatted} writes there directly. */
  private readonly dest: { write(s: string): unknown };

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
      flushAtExit.add(this.writer);
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
   * Writes `format`'s line for `value` when its level is enabled: the same
   * `level`, `time` and `msg` as pino's lines, the fields serialised by the
   * format (for the line per invocation: a known shape serialises much faster
   * than a generic serialiser can). To stdout the line is built later, with
   * its batch (see {@link LineWriter.defer}), so `value` must not change.
   */
  writeFormatted<T>(format: LineFormat<T>, value: T): void {
    if (!this.pino.isLevelEnabled(format.level)) return;
    if (this.writer) this.writer.defer(value, format);
    else this.dest.write(format.format(value));
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
    flushAtExit.delete(writer);
  }
}

/**
 * Stdout writers whose host has not closed: a process that exits without
 * closing it (`process.exit`, a fatal error) still writes what they buffered,
 * synchronously, from one `exit` listener.
 */
const flushAtExit = new Set<LineWriter>();
process.once('exit', () => {
  for (const w of flushAtExit) w.flushSync();
});

/**
 * A line of {@link Logger.writeFormatted}: a level and message, and how a
 * value becomes the line's time and its other fields. Create one per kind
 * of line, once.
 */
export class LineFormat<T> implements LineFormatter<T> {
  private readonly head: string;
  private readonly msgPart: string;

  /**
   * @param fields the value's fields as JSON members, `"a":1,"b":"x"`
   * @param timeMs the time the line reports, ms since the epoch
   */
  constructor(
    readonly level: LogLevel,
    msg: string,
    private readonly fields: (value: T) => string,
    private readonly timeMs: (value: T) => number,
  ) {
    this.head = `{"level":"${level}","time":"`;
    this.msgPart = `","msg":${JSON.stringify(msg)},`;
  }

  format(value: T): string {
    return `${this.head}${isoAt(this.timeMs(value))}${this.msgPart}${this.fields(value)}}\n`;
  }
}

let lastMs = 0;
let lastIso = '';

/** `ms` (since the epoch) in ISO 8601; consecutive calls for the same millisecond format it once. */
function isoAt(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/** The current time in ISO 8601, formatted at most once per millisecond. */
export function isoNow(): string {
  return isoAt(Date.now());
}
