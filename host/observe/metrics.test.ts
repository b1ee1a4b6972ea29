import { describe, expect, it } from 'vitest';
import type { InvocationRecord } from './invocation-record.js';
import { Metrics } from './metrics.js';

const cache = () => ({ entries: 2, bytes: 1234, budget: 9999, hits: 5, misses: 2, evictions: 1 });

function rec(status: number, totalUs = 1500, cold = false): InvocationRecord {
  return {
    seq: 0,
    startedAt: 0,
    requestId: 'r',
    function: 'f',
    version: 'v1',
    status,
    outcome: status < 500 ? 'ok' : 'trap',
    totalUs,
    loadUs: 0,
    instantiateUs: 20,
    guestUs: 100,
    cold,
    memoryPages: 1,
    bytesIn: 0,
    bytesOut: 0,
    billedGbS: 0.5,
    logs: [],
    logDropped: 0,
  };
}

/** The value of one sample line, e.g. `micron_requests_total{function="a",class="2xx"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function hit(m: Metrics, fn: string, n: number, status = 200): void {
  const s = m.of(fn);
  for (let i = 0; i < n; i++) m.observe(s, rec(status), undefined);
}

describe('Metrics', () => {
  it('counts requests by status class, latency, instantiation, cold starts and billed time per function', async () => {
    const m = new Metrics({ topFunctions: 10, labelIdleMs: 3_600_000, cacheStats: cache, functionCount: () => 1 });
    const s = m.of('f');
    m.observe(s, rec(200, 1500, true), undefined);
    m.observe(s, rec(200, 400), undefined);
    m.observe(s, rec(504, 30_000_000), 'deadline');
    m.recordRejection('f', 'queue_full');
    m.recordRejection('f', 'something-new');
    s.inflight = 3;
    const { body, contentType } = await m.render();
    expect(contentType).toContain('text/plain');
    expect(sample(body, 'micron_requests_total{function="f",class="2xx"}')).toBe(2);
    expect(sample(body, 'micron_requests_total{function="f",class="5xx"}')).toBe(1);
    expect(sample(body, 'micron_request_duration_seconds_bucket{function="f",le="0.0005"}')).toBe(1);
    expect(sample(body, 'micron_request_duration_seconds_bucket{function="f",le="0.0025"}')).toBe(2);
    expect(sample(body, 'micron_request_duration_seconds_bucket{function="f",le="+Inf"}')).toBe(3);
    expect(sample(body, 'micron_request_duration_seconds_count{function="f"}')).toBe(3);
    expect(sample(body, 'micron_instantiate_duration_seconds_count{function="f"}')).toBe(3);
    expect(sample(body, 'micron_cold_starts_total{function="f"}')).toBe(1);
    expect(sample(body, 'micron_billed_gb_seconds_total{function="f"}')).toBe(1.5);
    expect(sample(body, 'micron_inflight_requests{function="f"}')).toBe(3);
    expect(sample(body, 'micron_rejections_total{function="f",reason="deadline"}')).toBe(1);
    expect(sample(body, 'micron_rejections_total{function="f",reason="queue_full"}')).toBe(1);
    expect(sample(body, 'micron_rejections_total{function="f",reason="other"}')).toBe(1);
    expect(sample(body, 'micron_module_cache_bytes')).toBe(1234);
    expect(sample(body, 'micron_module_cache_hits_total')).toBe(5);
    expect(sample(body, 'micron_module_cache_misses_total')).toBe(2);
    expect(body).toContain('process_cpu_user_seconds_total');
    expect(body).toContain('nodejs_heap_size_used_bytes');
  });

  it('keeps label cardinality bounded with 10,000 functions: the busiest get labels, the rest are "other"', async () => {
    const m = new Metrics({ topFunctions: 50, labelIdleMs: 3_600_000, cacheStats: cache, functionCount: () => 10_000 });
    for (let i = 0; i < 10_000; i++) hit(m, `fn-${i}`, i % 100 === 0 ? 10 : 1);
    const { body } = await m.render();
    const functions = new Set([...body.matchAll(/function="([^"]+)"/g)].map((x) => x[1]));
    expect(functions.size).toBe(51);
    expect(functions.has('other')).toBe(true);
    // Labels went to the busiest (10 requests each: fn-0, fn-100, …), 50 of the 100.
    for (const f of functions) if (f !== 'other') expect(Number(f!.slice(3)) % 100, f).toBe(0);
    expect(sample(body, 'micron_requests_total{function="fn-100",class="2xx"}')).toBe(10);
    // 9,900 functions × 1 + 100 × 10 requests, less the 50 × 10 shown under their own label.
    expect(sample(body, 'micron_requests_total{function="other",class="2xx"}')).toBe(9_900 + 1_000 - 500);
    expect(sample(body, 'micron_metrics_labelled_functions')).toBe(50);
    expect(body.split('\n').filter((l) => l.startsWith('micron_')).length).toBeLessThan(51 * 60);
  });

  it('never lets a counter go down when functions move between their own label and "other"', async () => {
    const m = new Metrics({ topFunctions: 1, labelIdleMs: 0, cacheStats: cache, functionCount: () => 2 });
    const total = (body: string) => ({
      a: sample(body, 'micron_requests_total{function="a",class="2xx"}') ?? 0,
      b: sample(body, 'micron_requests_total{function="b",class="2xx"}') ?? 0,
      other: sample(body, 'micron_requests_total{function="other",class="2xx"}') ?? 0,
    });
    hit(m, 'a', 5);
    hit(m, 'b', 3);
    const first = total((await m.render()).body);
    expect(first).toEqual({ a: 5, b: 0, other: 3 });
    // b gets busy, a goes idle (labelIdleMs 0): a's label is taken back, b's counts already shown in "other" stay there.
    hit(m, 'b', 7);
    const second = total((await m.render()).body);
    expect(second.other).toBeGreaterThanOrEqual(first.other);
    expect(second.a + second.b + second.other).toBe(15);
    hit(m, 'b', 1);
    const third = total((await m.render()).body);
    expect(third.other).toBeGreaterThanOrEqual(second.other);
    expect(third.a + third.b + third.other).toBe(16);
  });

  it('folds a removed function into "other"', async () => {
    const m = new Metrics({ topFunctions: 5, labelIdleMs: 3_600_000, cacheStats: cache, functionCount: () => 1 });
    hit(m, 'gone', 4);
    expect(sample((await m.render()).body, 'micron_requests_total{function="gone",class="2xx"}')).toBe(4);
    m.forget('gone');
    const { body } = await m.render();
    expect(body).not.toContain('function="gone"');
    expect(sample(body, 'micron_requests_total{function="other",class="2xx"}')).toBe(4);
  });
});
