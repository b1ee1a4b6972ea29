/**
 * Prometheus metrics for the admin listener's `/metrics`, through prom-client.
 *
 * Per-invocation cost: the counters and histograms of a function are plain
 * numbers in a {@link FunctionStats} object found once per request; nothing
 * is allocated and no label set is hashed. prom-client's registry reads them
 * only when scraped (custom metric objects whose `get()` builds the values),
 * and adds the process metrics (CPU, memory, event loop lag, GC).
 *
 * Label cardinality stays bounded however many functions there are: at most
 * `topFunctions` functions get their own `function` label; all the others are
 * summed under `function="other"`. At each scrape, free label slots go to the
 * unlabelled functions with the most requests since the previous scrape; a
 * function keeps its label until it has been idle for `labelIdleMs` or is
 * removed. Counters stay monotonic through these moves: when a function
 * whose counts a scrape already showed inside `other` gets a label (or when a
 * labelled one loses it), what it counted so far stays in (or is added to)
 * `other` and its own series starts from zero, which Prometheus' `rate()`
 * reads as a new series or a counter reset.
 */
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import type { ModuleCacheStats } from '../compile/module-cache.js';
import type { InvocationRecord } from './invocation-record.js';

/**
 * Why a request was refused or stopped by a limit. The limiter reports the
 * refusals that happen before an invocation (`queue_full`, `queue_timeout`,
 * `payload_too_large`, `header_too_large`) through `recordRejection`; the
 * observer counts `deadline` and `memory` itself from invocation outcomes.
 * Anything else is counted as `other`.
 */
export const REJECTION_REASONS = ['queue_full', 'queue_timeout', 'payload_too_large', 'header_too_large', 'deadline', 'memory', 'other'] as const;

/** A reason in {@link REJECTION_REASONS}. */
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** Request latency buckets, seconds. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Instantiation buckets, seconds. */
const INSTANTIATE_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1];
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** A histogram's counts, cumulative only when rendered. */
class Hist {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
  addTo(o: Hist): void {
    for (let i = 0; i < this.counts.length; i++) o.counts[i]! += this.counts[i]!;
    o.sum += this.sum;
    o.count += this.count;
  }
  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/** The metrics of one function (or of the `other` aggregate). */
export class FunctionStats {
  readonly classes = new Float64Array(CLASSES.length);
  readonly latency = new Hist(LATENCY_BUCKETS);
  readonly instantiate = new Hist(INSTANTIATE_BUCKETS);
  readonly rejections = new Float64Array(REJECTION_REASONS.length);
  cold = 0;
  billedGbS = 0;
  inflight = 0;
  queued = 0;
  /** Requests finished, for ranking (never reset). */
  total = 0;
  /** `total` at the previous scrape. */
  lastTotal = 0;
  /** Last scrape time at which the function had new requests, ms. */
  lastActive = 0;
  labelled = false;
  /** True when a scrape has shown this function's counters inside `other`. */
  exposed = false;
  /** The function was removed: invocations still running when it was are not counted. */
  removed = false;

  /** Adds the counters to `o` and zeroes them here (gauges are not counters: they stay). */
  moveCountersTo(o: FunctionStats): void {
    addCounters(this, o);
    this.classes.fill(0);
    this.rejections.fill(0);
    this.latency.reset();
    this.instantiate.reset();
    this.cold = 0;
    this.billedGbS = 0;
  }
}

/** Options of {@link Metrics}. */
export interface MetricsOptions {
  /** Functions with their own label; the rest are `function="other"`. */
  topFunctions: number;
  /** A labelled function idle (no requests between scrapes) this long gives its label back, ms. */
  labelIdleMs: number;
  /** Module cache statistics. */
  cacheStats: () => ModuleCacheStats;
  /** Number of deployed functions. */
  functionCount: () => number;
}

type Labels = Record<string, string>;
interface Sample {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** The host's metrics. */
export class Metrics {
  private readonly fns = new Map<string, FunctionStats>();
  /** `function="other"`: counts of unlabelled functions are summed here at scrape, plus what moved here for good. */
  private readonly retired = new FunctionStats();
  private labelled = 0;
  private registry: Registry | undefined;

  constructor(private readonly opts: MetricsOptions) {}

  /** The stats object of `fn`, created on first use. */
  of(fn: string): FunctionStats {
    let s = this.fns.get(fn);
    if (!s) this.fns.set(fn, (s = new FunctionStats()));
    return s;
  }

  /** Counts a finished invocation. */
  observe(s: FunctionStats, r: InvocationRecord, reason: string | undefined): void {
    const c = ((r.status / 100) | 0) - 1;
    if (c >= 0 && c < 5) s.classes[c]!++;
    s.latency.observe(r.totalUs / 1e6);
    s.instantiate.observe(r.instantiateUs / 1e6);
    if (r.cold) s.cold++;
    s.billedGbS += r.billedGbS;
    s.total++;
    // An invocation a limit stopped: its deadline, its memory, or a request body that went over its limit while it ran.
    if (reason === 'deadline' || reason === 'memory' || reason === 'payload_too_large') s.rejections[REJECTION_REASONS.indexOf(reason)]!++;
  }

  /** Counts a request refused or stopped by a limit. */
  recordRejection(fn: string, reason: RejectionReason | string): void {
    const i = REJECTION_REASONS.indexOf(reason as RejectionReason);
    this.of(fn).rejections[i === -1 ? REJECTION_REASONS.length - 1 : i]!++;
  }

  /** Requests finished and running now, per function (for the dashboard's rates; not bounded by labels). */
  snapshot(): Record<string, { requests: number; inflight: number }> {
    const out: Record<string, { requests: number; inflight: number }> = {};
    for (const [name, s] of this.fns) out[name] = { requests: s.total, inflight: s.inflight };
    return out;
  }

  /** Moves a removed function's counters into `other` and forgets it. */
  forget(fn: string): void {
    const s = this.fns.get(fn);
    if (!s) return;
    s.moveCountersTo(this.retired);
    if (s.labelled) this.labelled--;
    s.removed = true;
    this.fns.delete(fn);
  }

  /** The Prometheus text exposition (prom-client's registry). */
  async render(): Promise<{ contentType: string; body: string }> {
    this.assignLabels(Date.now());
    const registry = (this.registry ??= this.createRegistry());
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  /** Gives free label slots to the busiest unlabelled functions; takes them back from long-idle ones. */
  private assignLabels(now: number): void {
    const candidates: [string, FunctionStats, number][] = [];
    for (const [name, s] of this.fns) {
      const delta = s.total - s.lastTotal;
      s.lastTotal = s.total;
      if (delta > 0) s.lastActive = now;
      if (s.labelled && now - s.lastActive > this.opts.labelIdleMs) {
        s.labelled = false;
        this.labelled--;
        s.moveCountersTo(this.retired);
      } else if (!s.labelled && delta > 0) {
        candidates.push([name, s, delta]);
      }
    }
    const free = this.opts.topFunctions - this.labelled;
    if (free <= 0 || candidates.length === 0) return;
    candidates.sort((a, b) => b[2] - a[2]);
    for (const [, s] of candidates.slice(0, free)) {
      // Counts already shown inside `other` stay there, so that `other` never goes down.
      if (s.exposed) s.moveCountersTo(this.retired);
      s.labelled = true;
      this.labelled++;
    }
  }

  /** Per-function series: one per labelled function, then `other`. */
  private series(): [string, FunctionStats][] {
    const other = new FunctionStats();
    addCounters(this.retired, other);
    const out: [string, FunctionStats][] = [];
    for (const [name, s] of this.fns) {
      if (s.labelled) out.push([name, s]);
      else {
        if (s.total > 0) s.exposed = true;
        addCounters(s, other);
        other.inflight += s.inflight;
        other.queued += s.queued;
      }
    }
    out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    out.push(['other', other]);
    return out;
  }

  private createRegistry(): Registry {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    let snapshot: [string, FunctionStats][] = [];
    const perFunction = (name: string, help: string, type: 'counter' | 'gauge', pick: (s: FunctionStats) => number) =>
      metric(name, help, type, () => {
        const out: Sample[] = [];
        for (const [fn, s] of snapshot) {
          const v = pick(s);
          if (v !== 0 || fn !== 'other') out.push({ value: v, labels: { function: fn } });
        }
        return out;
      });
    const metrics = [
      metric('micron_requests_total', 'Invocations finished, by function and status class.', 'counter', () => {
        snapshot = this.series();
        const out: Sample[] = [];
        for (const [fn, s] of snapshot) {
          s.classes.forEach((v, i) => {
            if (v > 0) out.push({ value: v, labels: { function: fn, class: CLASSES[i]! } });
          });
        }
        return out;
      }),
      histogram('micron_request_duration_seconds', 'Invocation duration, start to guest finished (streamed bodies included).', () => snapshot.map(([fn, s]) => [fn, s.latency])),
      histogram('micron_instantiate_duration_seconds', 'Instance creation (or reset) time per invocation.', () => snapshot.map(([fn, s]) => [fn, s.instantiate])),
      perFunction('micron_cold_starts_total', 'Invocations whose component was compiled for them (not in the module cache).', 'counter', (s) => s.cold),
      perFunction('micron_billed_gb_seconds_total', 'Billed GB-seconds (memory × duration at 1 ms granularity).', 'counter', (s) => s.billedGbS),
      perFunction('micron_inflight_requests', 'Invocations running now.', 'gauge', (s) => s.inflight),
      perFunction('micron_queued_requests', 'Requests waiting for a concurrency slot.', 'gauge', (s) => s.queued),
      metric('micron_rejections_total', 'Requests refused or stopped by a limit, by reason.', 'counter', () => {
        const out: Sample[] = [];
        for (const [fn, s] of snapshot) {
          s.rejections.forEach((v, i) => {
            if (v > 0) out.push({ value: v, labels: { function: fn, reason: REJECTION_REASONS[i]! } });
          });
        }
        return out;
      }),
      metric('micron_functions', 'Deployed functions.', 'gauge', () => [{ value: this.opts.functionCount(), labels: {} }]),
      metric('micron_metrics_labelled_functions', 'Functions with their own label in per-function metrics (the rest are function="other").', 'gauge', () => [
        { value: this.labelled, labels: {} },
      ]),
      metric('micron_module_cache_bytes', 'Bytes of compiled modules in the module cache.', 'gauge', () => [{ value: this.opts.cacheStats().bytes, labels: {} }]),
      metric('micron_module_cache_budget_bytes', 'Byte budget of the module cache.', 'gauge', () => [{ value: this.opts.cacheStats().budget, labels: {} }]),
      metric('micron_module_cache_entries', 'Components in the module cache.', 'gauge', () => [{ value: this.opts.cacheStats().entries, labels: {} }]),
      metric('micron_module_cache_hits_total', 'Module cache lookups that found the component.', 'counter', () => [{ value: this.opts.cacheStats().hits, labels: {} }]),
      metric('micron_module_cache_misses_total', 'Module cache lookups that had to load the component.', 'counter', () => [{ value: this.opts.cacheStats().misses, labels: {} }]),
      metric('micron_module_cache_evictions_total', 'Components evicted from the module cache to stay within its budget.', 'counter', () => [
        { value: this.opts.cacheStats().evictions, labels: {} },
      ]),
    ];
    // prom-client renders metrics in registration order: requests_total (which takes the snapshot) comes first.
    for (const m of metrics) registry.registerMetric(m);
    return registry;
  }
}

function addCounters(s: FunctionStats, o: FunctionStats): void {
  for (let i = 0; i < s.classes.length; i++) o.classes[i]! += s.classes[i]!;
  for (let i = 0; i < s.rejections.length; i++) o.rejections[i]! += s.rejections[i]!;
  s.latency.addTo(o.latency);
  s.instantiate.addTo(o.instantiate);
  o.cold += s.cold;
  o.billedGbS += s.billedGbS;
}

/** A prom-client metric whose values are computed at scrape time. */
function metric(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', values: () => Sample[]): Metric {
  const m = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
    reset: () => undefined,
  };
  return m as unknown as Metric;
}

function histogram(name: string, help: string, series: () => [string, Hist][]): Metric {
  return metric(name, help, 'histogram', () => {
    const out: Sample[] = [];
    for (const [fn, h] of series()) {
      if (fn === 'other' && h.count === 0) continue;
      let cum = 0;
      h.bounds.forEach((b, i) => {
        cum += h.counts[i]!;
        out.push({ value: cum, labels: { function: fn, le: String(b) }, metricName: `${name}_bucket` });
      });
      out.push({ value: h.count, labels: { function: fn, le: '+Inf' }, metricName: `${name}_bucket` });
      out.push({ value: h.sum, labels: { function: fn }, metricName: `${name}_sum` });
      out.push({ value: h.count, labels: { function: fn }, metricName: `${name}_count` });
    }
    return out;
  });
}
