/**
 * Admission control: how many requests of each function run at once, how many
 * may wait, for how long, and a cap across the whole host.
 *
 * A request needs a slot of its function (`maxInFlight`) and a slot of the
 * host (`hostMaxInFlight`). When either is taken it waits in its function's
 * FIFO queue (at most `maxQueued` entries, at most `queueTimeoutMs`); past
 * that it is refused, and the server answers 429 with `Retry-After`.
 *
 * Fairness: a freed host slot goes to the functions with waiters in
 * round-robin order, never to whoever floods the most. A function at its own
 * limit therefore queues against itself only: it cannot take the host's
 * slots from a function that is below its limit.
 *
 * The common path (both slots free, nobody waiting) is synchronous and
 * allocates one permit object; timers exist only for queued requests.
 */

/** Limits of one function's admission. */
export interface AdmissionLimits {
  maxInFlight: number;
  maxQueued: number;
  queueTimeoutMs: number;
}

/** A granted slot. `release()` is idempotent. */
export interface Permit {
  release(): void;
}

/** Idle functions whose admission state is kept (see `Limiter.dropIfIdle`). */
const IDLE_LANES_KEPT = 1024;

/** Why a request was refused. */
export type Refusal = { refused: 'queue_full' | 'queue_timeout' | 'aborted'; waitedMs: number };

/** Admission counters, for tests and metrics. */
export interface LimiterStats {
  inFlight: number;
  queued: number;
  functions: Record<string, { inFlight: number; queued: number; admitted: number; refused: number }>;
}

interface Waiter {
  grant: (p: Permit | Refusal) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  since: number;
  /** Granted, timed out or aborted: no longer waiting. */
  done: boolean;
}

/** One function's admission state. */
class Lane {
  inFlight = 0;
  /** Live waiters (the queue may also hold finished ones until they are skipped). */
  live = 0;
  admitted = 0;
  refused = 0;
  private queue: Waiter[] = [];
  private head = 0;
  constructor(public limits: AdmissionLimits) {}

  push(w: Waiter): void {
    this.queue.push(w);
    this.live++;
  }

  /** The oldest live waiter, taken out of the queue. */
  shift(): Waiter | undefined {
    while (this.head < this.queue.length) {
      const w = this.queue[this.head++]!;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (!w.done) {
        this.live--;
        return w;
      }
    }
    return undefined;
  }

  /** A waiter gave up (timeout or abort): it stays in the array but no longer counts. */
  forget(): void {
    this.live--;
    if (this.live === 0) {
      this.queue = [];
      this.head = 0;
    }
  }
}

/** Per-function and host-wide admission. One per host. */
export class Limiter {
  private readonly lanes = new Map<string, Lane>();
  /** Functions with live waiters, in round-robin order (a Map keeps insertion order). */
  private readonly waiting = new Map<string, Lane>();
  private inFlight = 0;
  /** Lane count past which idle lanes are swept (see `dropIfIdle`). */
  private sweepAt = IDLE_LANES_KEPT;

  /**
   * @param hostMaxInFlight requests running at once across all functions
   * @param onQueueChange told whenever a function's queue grows or shrinks by one (metrics)
   */
  constructor(
    private readonly hostMaxInFlight: number,
    private readonly onQueueChange?: (key: string, delta: number) => void,
  ) {}

  /**
   * Asks for a slot for function `key`. Returns a permit at once when one is
   * free, a refusal at once when the queue is full, or a promise that settles
   * with a permit or a refusal. `signal` (the client's, asked for only when
   * the request must wait) takes a queued request out of the queue when the
   * client goes away.
   */
  acquire(key: string, limits: AdmissionLimits, signal?: () => AbortSignal | undefined): Permit | Refusal | Promise<Permit | Refusal> {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = new Lane(limits);
      this.lanes.set(key, lane);
    } else {
      // A redeploy may change the limits: the newest request's view wins.
      lane.limits = limits;
    }
    if (lane.live === 0 && lane.inFlight < limits.maxInFlight && this.inFlight < this.hostMaxInFlight) {
      return this.admit(key, lane);
    }
    if (lane.live >= limits.maxQueued) {
      lane.refused++;
      this.dropIfIdle(lane);
      return { refused: 'queue_full', waitedMs: 0 };
    }
    const l = lane;
    const abort = signal?.();
    return new Promise<Permit | Refusal>((resolve) => {
      const w: Waiter = { grant: resolve, timer: undefined, since: performance.now(), done: false };
      const giveUp = (why: Refusal['refused']): void => {
        if (w.done) return;
        w.done = true;
        if (w.timer) clearTimeout(w.timer);
        l.refused++;
        l.forget();
        this.onQueueChange?.(key, -1);
        if (l.live === 0) this.waiting.delete(key);
        this.dropIfIdle(l);
        resolve({ refused: why, waitedMs: performance.now() - w.since });
      };
      if (abort?.aborted) {
        l.refused++;
        this.dropIfIdle(l);
        resolve({ refused: 'aborted', waitedMs: 0 });
        return;
      }
      l.push(w);
      this.onQueueChange?.(key, 1);
      if (!this.waiting.has(key)) this.waiting.set(key, l);
      w.timer = setTimeout(() => giveUp('queue_timeout'), limits.queueTimeoutMs);
      abort?.addEventListener('abort', () => giveUp('aborted'), { once: true });
    });
  }

  /** Counters per function and in total. */
  stats(): LimiterStats {
    const functions: LimiterStats['functions'] = {};
    let queued = 0;
    for (const [k, l] of this.lanes) {
      queued += l.live;
      functions[k] = { inFlight: l.inFlight, queued: l.live, admitted: l.admitted, refused: l.refused };
    }
    return { inFlight: this.inFlight, queued, functions };
  }

  private admit(key: string, lane: Lane): Permit {
    lane.inFlight++;
    lane.admitted++;
    this.inFlight++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        lane.inFlight--;
        this.inFlight--;
        if (this.waiting.size > 0) this.dispatch();
        this.dropIfIdle(lane);
      },
    };
  }

  /**
   * Hands out free slots: one grant per waiting function per round, in
   * round-robin order, until the host is full or nobody can be served. A
   * function that got a slot goes to the back of the rotation.
   */
  private dispatch(): void {
    let progress = true;
    while (progress && this.inFlight < this.hostMaxInFlight) {
      progress = false;
      for (const [k, l] of [...this.waiting]) {
        if (this.inFlight >= this.hostMaxInFlight) break;
        if (l.inFlight >= l.limits.maxInFlight) continue;
        const w = l.shift();
        this.waiting.delete(k);
        if (!w) continue;
        if (l.live > 0) this.waiting.set(k, l);
        w.done = true;
        if (w.timer) clearTimeout(w.timer);
        this.onQueueChange?.(k, -1);
        w.grant(this.admit(k, l));
        progress = true;
      }
    }
  }

  /**
   * Keeps the map from growing with every name ever called: once it holds
   * more than {@link sweepAt} functions, every function with nothing running
   * or waiting is forgotten in one sweep, and the next sweep waits until the
   * map has doubled from what is left (so many busy functions do not make
   * every release a sweep). Below that an idle lane stays, so a function
   * called one request at a time does not create and drop its lane on every
   * request.
   */
  private dropIfIdle(lane: Lane): void {
    if (lane.inFlight !== 0 || lane.live !== 0 || this.lanes.size <= this.sweepAt) return;
    for (const [k, l] of this.lanes) {
      if (l.inFlight === 0 && l.live === 0) {
        this.lanes.delete(k);
        this.waiting.delete(k);
      }
    }
    this.sweepAt = Math.max(IDLE_LANES_KEPT, 2 * this.lanes.size);
  }
}
