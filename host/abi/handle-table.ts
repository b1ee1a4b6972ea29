/**
 * The per-instance table of resource handles. A guest only ever sees small
 * integers; the host objects behind them stay here, tagged with their resource
 * type so a handle of one type can never be used as another. Index 0 is never
 * a valid handle (the canonical ABI reserves it).
 */
import { Trap } from './trap.js';

/** A host object that owns something to release when its handle is dropped. */
export interface Droppable {
  /** Called once, when the guest drops its own handle. */
  drop?(): void;
}

/** Resource handles of one component instance. */
export class HandleTable {
  // Room for the handful of handles a request uses, made up front: growing from one slot costs
  // a larger copy per array on the first insert.
  private readonly reps: unknown[] = [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];
  private readonly types: (string | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];
  /** The next never-used handle. */
  private next = 1;
  private readonly free: number[] = [];

  /** Inserts a host object as an own handle of resource `type`; returns the handle. */
  insert(type: string, rep: unknown): number {
    const h = this.free.length > 0 ? this.free.pop()! : this.next++;
    this.reps[h] = rep;
    this.types[h] = type;
    return h;
  }

  /** The object behind a borrowed handle. Traps if it is not a live handle of `type`. */
  get(type: string, h: number): unknown {
    if (this.types[h] !== type) throw this.bad(type, h);
    return this.reps[h];
  }

  /** Removes an own handle (moved into the host or dropped) and returns its object. */
  take(type: string, h: number): unknown {
    if (this.types[h] !== type) throw this.bad(type, h);
    const rep = this.reps[h];
    this.reps[h] = undefined;
    this.types[h] = undefined;
    this.free.push(h);
    return rep;
  }

  /** Number of live handles (for leak checks and tests). */
  get size(): number {
    return this.next - 1 - this.free.length;
  }

  /** Every live object, for releasing host resources when the instance is discarded. */
  *live(): IterableIterator<unknown> {
    for (let i = 1; i < this.next; i++) if (this.types[i] !== undefined) yield this.reps[i];
  }

  private bad(type: string, h: number): Trap {
    return new Trap(`unknown handle ${h} for resource ${type}${this.types[h] ? ` (it is a ${this.types[h]})` : ''}`);
  }
}
