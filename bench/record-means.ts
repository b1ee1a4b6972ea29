/**
 * Means of invocation records' own timings, for the benches that set Micron's
 * handler in-process (instantiate bench, task (e)) beside the same handler
 * under HTTP load (bench/micron-timed-server.ts): which part of it grows.
 */
import type { InvocationRecord } from '../host/index.ts';

/** Mean µs per invocation over `n` records (each record rounds its fields to whole µs). */
export interface RecordMeans {
  n: number;
  /** From the runtime's start of the invocation to its end. */
  totalUs: number;
  /** Creating (resetting) the instance. */
  instantiateUs: number;
  /** Running the guest: its wasm and the host calls it makes. */
  guestUs: number;
}

/** The means of `records`, or undefined when there are none. */
export function recordMeans(records: readonly InvocationRecord[]): RecordMeans | undefined {
  const n = records.length;
  if (n === 0) return undefined;
  let total = 0;
  let instantiate = 0;
  let guest = 0;
  for (const r of records) {
    total += r.totalUs;
    instantiate += r.instantiateUs;
    guest += r.guestUs;
  }
  return { n, totalUs: total / n, instantiateUs: instantiate / n, guestUs: guest / n };
}

/** "invocation X µs (instance Y, guest Z), mean of N records". */
export function describeMeans(m: RecordMeans): string {
  return `invocation ${m.totalUs.toFixed(1)} µs (instance ${m.instantiateUs.toFixed(1)}, guest ${m.guestUs.toFixed(1)}), mean of its last ${m.n} records`;
}
