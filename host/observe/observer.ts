/**
 * Where an invocation's record goes once the guest is done: the function's
 * metrics, its record log (logs API, live tail), and one host log line.
 * The runtime calls {@link Observer.begin} when an invocation starts and
 * {@link Observer.finish} when it ends; the limiter reports refusals through
 * {@link Observer.recordRejection}. With `observe: false` the host has no
 * observer: no records, metrics or per-invocation lines (failures are still
 * logged).
 */
import type { ModuleCacheStats } from '../compile/module-cache.js';
import { MicronError } from '../errors.js';
import { recordJsonFields, type InvocationRecord } from './invocation-record.js';
import { InvocationRecords } from './invocation-records.js';
import { LineFormat, type Logger } from './logger.js';
import { Metrics, type FunctionStats, type RejectionReason } from './metrics.js';

/** When an invocation ended, ms since the epoch: the time its line reports. */
const endedAt = (r: InvocationRecord): number => Math.round(r.startedAt + r.totalUs / 1000);
const INVOCATION_LINE = new LineFormat<InvocationRecord>('info', 'invocation', recordJsonFields, endedAt);
const FAILED_INVOCATION_LINE = new LineFormat<InvocationRecord>('warn', 'invocation failed', recordJsonFields, endedAt);

/** Options of records and metrics (`createHost({ observe })`). */
export interface ObserveOptions {
  /** Invocation records kept per function (a ring buffer). Default 200. */
  recordsPerFunction?: number;
  /** Guest output kept per function across its records, bytes. Default 256 KiB. */
  recordLogBytesPerFunction?: number;
  /** Functions with their own `function` label in metrics; the rest are `other`. Default 100. */
  metricsTopFunctions?: number;
  /** A labelled function idle this long gives its metrics label back, ms. Default 1 hour. */
  metricsLabelIdleMs?: number;
}

/** Defaults of {@link ObserveOptions}. */
export const DEFAULT_OBSERVE: Readonly<Required<ObserveOptions>> = Object.freeze({
  recordsPerFunction: 200,
  recordLogBytesPerFunction: 256 * 1024,
  metricsTopFunctions: 100,
  metricsLabelIdleMs: 3_600_000,
});

/** Validates {@link ObserveOptions} (positive integers, known keys) and fills in defaults. */
export function resolveObserveOptions(o: ObserveOptions | undefined): Required<ObserveOptions> {
  const out = { ...DEFAULT_OBSERVE };
  for (const [k, v] of Object.entries(o ?? {})) {
    if (!(k in DEFAULT_OBSERVE)) throw new MicronError('invalid_config', `unknown observe option "${k}"`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new MicronError('invalid_config', `observe option "${k}" must be a positive integer`);
    (out as Record<string, number>)[k] = v;
  }
  return out;
}

/** Records, metrics and invocation log lines. */
export class Observer {
  readonly records: InvocationRecords;
  readonly metrics: Metrics;

  constructor(
    options: Required<ObserveOptions>,
    private readonly logger: Logger,
    cacheStats: () => ModuleCacheStats,
    functionCount: () => number,
  ) {
    this.records = new InvocationRecords({ capacity: options.recordsPerFunction, logBytes: options.recordLogBytesPerFunction });
    this.metrics = new Metrics({ topFunctions: options.metricsTopFunctions, labelIdleMs: options.metricsLabelIdleMs, cacheStats, functionCount });
  }

  /** An invocation of `fn` starts: counts it in flight; pass the result to {@link finish}. */
  begin(fn: string): FunctionStats {
    const s = this.metrics.of(fn);
    s.inflight++;
    return s;
  }

  /**
   * An invocation ended. `reason` is the trap reason of a failed one
   * (`deadline`, `memory`, …). Writes one host log line: info for a success,
   * warn (with the detail) for a failure.
   */
  finish(stats: FunctionStats, record: InvocationRecord, reason?: string): void {
    stats.inflight--;
    // A function removed while this invocation ran: its records and counters are gone; the line is still written.
    if (!stats.removed) {
      this.metrics.observe(stats, record, reason);
      this.records.add(record);
    }
    this.logger.writeFormatted(record.outcome === 'ok' ? INVOCATION_LINE : FAILED_INVOCATION_LINE, record);
  }

  /** A request to `fn` was refused by a limit before (or instead of) running. */
  recordRejection(fn: string, reason: RejectionReason | string): void {
    this.metrics.recordRejection(fn, reason);
  }

  /** Requests waiting for `fn` changed by `delta` (+1 queued, -1 left the queue). */
  queueChange(fn: string, delta: number): void {
    this.metrics.of(fn).queued += delta;
  }

  /** A function was removed: its records go, its counters fold into `other`. */
  forget(fn: string): void {
    this.records.drop(fn);
    this.metrics.forget(fn);
  }

  /** Ends live tails (the host is closing). */
  close(): void {
    this.records.close();
  }
}
