/**
 * Recent invocation records per function, for the logs API and the live tail.
 *
 * Retention is bounded twice per function: at most `capacity` records, and
 * at most `logBytes` of guest output lines across them (the oldest records go
 * first when either is exceeded). A function's ring is created by its first
 * invocation and dropped when the function is removed, so memory is bounded by
 * functions × (capacity records + logBytes).
 */
import type { InvocationRecord } from './invocation-record.js';

/** Retention of {@link InvocationRecords}. */
export interface RecordRetention {
  /** Records kept per function. */
  capacity: number;
  /** Guest output bytes (line lengths) kept per function. */
  logBytes: number;
}

/** A live-tail subscriber: `push` per new record, `end` when the host closes or the function goes away. */
export interface RecordSubscriber {
  push(record: InvocationRecord): void;
  end(): void;
}

/** A query of one function's records. */
export interface RecordQuery {
  /** Only records with `seq` greater than this (a cursor from an earlier answer). */
  sinceSeq?: number;
  /** Only records that started at or after this time, ms since the epoch. */
  sinceTime?: number;
  /** At most this many: the oldest ones after `since` when given, else the newest ones. */
  limit: number;
}

/** The fixed-size ring of one function. */
class RecordRing {
  private readonly slots: (InvocationRecord | undefined)[];
  /**
   * Each slot's guest output bytes, beside the records: dropping the oldest
   * record then never reads it (it was last touched a whole ring ago, so
   * reading it would be a cache miss on every request under load).
   */
  private readonly sizes: Float64Array;
  /** Index of the oldest record. */
  private head = 0;
  private count = 0;
  private logBytes = 0;
  /** Seq of the last record added. */
  seq = 0;
  readonly subscribers = new Set<RecordSubscriber>();

  constructor(private readonly retention: RecordRetention) {
    this.slots = new Array<InvocationRecord | undefined>(retention.capacity);
    this.sizes = new Float64Array(retention.capacity);
  }

  add(record: InvocationRecord): void {
    record.seq = ++this.seq;
    const bytes = record.logs.length === 0 ? 0 : logSize(record);
    const cap = this.slots.length;
    if (this.count === cap) this.dropOldest();
    while (this.count > 0 && this.logBytes + bytes > this.retention.logBytes) this.dropOldest();
    let at = this.head + this.count;
    if (at >= cap) at -= cap;
    this.slots[at] = record;
    this.sizes[at] = bytes;
    this.count++;
    this.logBytes += bytes;
  }

  private dropOldest(): void {
    const head = this.head;
    this.slots[head] = undefined;
    this.logBytes -= this.sizes[head]!;
    this.head = head + 1 === this.slots.length ? 0 : head + 1;
    this.count--;
  }

  query(q: RecordQuery): InvocationRecord[] {
    const all: InvocationRecord[] = [];
    for (let i = 0; i < this.count; i++) {
      const r = this.slots[(this.head + i) % this.slots.length]!;
      if (q.sinceSeq !== undefined && r.seq <= q.sinceSeq) continue;
      if (q.sinceTime !== undefined && r.startedAt < q.sinceTime) continue;
      all.push(r);
    }
    const since = q.sinceSeq !== undefined || q.sinceTime !== undefined;
    return since ? all.slice(0, q.limit) : all.slice(Math.max(0, all.length - q.limit));
  }
}

function logSize(r: InvocationRecord): number {
  let n = 0;
  for (const l of r.logs) n += l.line.length + 1;
  return n;
}

/** Recent records of every function, with live subscriptions. */
export class InvocationRecords {
  private readonly rings = new Map<string, RecordRing>();

  constructor(readonly retention: RecordRetention) {}

  /** Stores a record (assigning its `seq`) and hands it to the function's subscribers. */
  add(record: InvocationRecord): void {
    const ring = this.ring(record.function);
    ring.add(record);
    if (ring.subscribers.size > 0) for (const s of ring.subscribers) s.push(record);
  }

  /** Records of `fn`, oldest first. */
  query(fn: string, q: RecordQuery): { records: InvocationRecord[]; cursor: number } {
    const ring = this.rings.get(fn);
    if (!ring) return { records: [], cursor: q.sinceSeq ?? 0 };
    const records = ring.query(q);
    const last = records[records.length - 1];
    return { records, cursor: last ? last.seq : (q.sinceSeq ?? ring.seq) };
  }

  /** Subscribes to new records of `fn`; returns the unsubscribe function. */
  subscribe(fn: string, s: RecordSubscriber): () => void {
    const ring = this.ring(fn);
    ring.subscribers.add(s);
    return () => ring.subscribers.delete(s);
  }

  /** Forgets a removed function: its records go, and its subscribers are ended. */
  drop(fn: string): void {
    const ring = this.rings.get(fn);
    if (!ring) return;
    this.rings.delete(fn);
    for (const s of ring.subscribers) s.end();
  }

  /** Ends every subscription (the host is closing). */
  close(): void {
    for (const ring of this.rings.values()) {
      for (const s of ring.subscribers) s.end();
      ring.subscribers.clear();
    }
  }

  private ring(fn: string): RecordRing {
    let ring = this.rings.get(fn);
    if (!ring) this.rings.set(fn, (ring = new RecordRing(this.retention)));
    return ring;
  }
}
