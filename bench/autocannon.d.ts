/**
 * The part of autocannon's programmatic API the HTTP bench uses (the package
 * ships no types). Field meanings follow autocannon's README, "Results".
 */
declare module 'autocannon' {
  /** An hdr-histogram-percentiles-obj summary (latency in ms, requests per second). */
  export interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p50: number;
    p90: number;
    p99: number;
    p99_9: number;
  }

  export interface Options {
    url: string;
    connections?: number;
    /** Seconds. */
    duration?: number;
    pipelining?: number;
    /** Seconds to wait for a response. */
    timeout?: number;
    /** Responses with another body are counted in `mismatches`. */
    expectBody?: string;
  }

  export interface Result {
    requests: Histogram;
    latency: Histogram;
    /** Seconds the run lasted. */
    duration: number;
    errors: number;
    timeouts: number;
    mismatches: number;
    non2xx: number;
    '2xx': number;
  }

  /** Without a callback, autocannon returns its tracker, a thenable that settles with the results. */
  export interface Tracker extends PromiseLike<Result> {
    /** Every response, with its latency in ms (full precision; the `latency` histogram keeps whole ms). */
    on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) => void): this;
  }

  export default function autocannon(opts: Options): Tracker;
}
