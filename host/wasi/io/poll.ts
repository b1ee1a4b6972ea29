/**
 * wasi:io/poll. A pollable is a host object that can say whether it is ready
 * now and give a promise for when it will be. Blocking (`block`, `poll`)
 * suspends the guest through the invocation's suspension mechanism instead of
 * blocking the event loop.
 */
import type { Suspended } from '../../abi/canon.js';
import type { GuestContext } from '../context.js';

/** Something a guest can wait on. */
export abstract class Pollable {
  /** True when waiting would return immediately. */
  abstract ready(): boolean;
  /** Resolves when `ready()` becomes true. Only called when it is false. */
  abstract whenReady(): Promise<void>;
}

/** A pollable that is always ready. */
export class ReadyPollable extends Pollable {
  ready(): boolean {
    return true;
  }
  whenReady(): Promise<void> {
    return Promise.resolve();
  }
}

/** A pollable that becomes ready when a promise settles. */
export class PromisePollable extends Pollable {
  private done = false;
  private readonly settled: Promise<void>;
  constructor(p: Promise<unknown>) {
    super();
    this.settled = p.then(
      () => {
        this.done = true;
      },
      () => {
        this.done = true;
      },
    );
  }
  ready(): boolean {
    return this.done;
  }
  whenReady(): Promise<void> {
    return this.settled;
  }
}

/** A pollable that becomes ready at a monotonic-clock instant (ns since the host's epoch). */
export class TimerPollable extends Pollable {
  private promise: Promise<void> | undefined;
  constructor(
    private readonly deadlineNs: bigint,
    private readonly now: () => bigint,
  ) {
    super();
  }
  ready(): boolean {
    return this.now() >= this.deadlineNs;
  }
  whenReady(): Promise<void> {
    if (!this.promise) {
      const ms = Number(this.deadlineNs - this.now()) / 1e6;
      this.promise = new Promise((resolve) => {
        const t = setTimeout(resolve, Math.max(0, Math.ceil(ms)));
        // A sleeping guest must not keep the process alive on its own.
        t.unref?.();
      });
    }
    return this.promise;
  }
}

/** Implementations of wasi:io/poll keyed by WIT function name. */
export const poll = {
  '[method]pollable.ready': (_cx: GuestContext, self: Pollable): boolean => self.ready(),
  '[method]pollable.block': (cx: GuestContext, self: Pollable): Suspended | undefined =>
    self.ready() ? undefined : cx.suspend(self.whenReady()),
  poll: (cx: GuestContext, list: Pollable[]): number[] | Suspended => {
    if (list.length === 0) throw cx.trap('wasi:io/poll.poll called with an empty list');
    const out: number[] = [];
    for (let i = 0; i < list.length; i++) if (list[i]!.ready()) out.push(i);
    if (out.length > 0) return out;
    return cx.suspend(Promise.race(list.map((p) => p.whenReady())));
  },
};
