/**
 * In-memory cache of prepared components, keyed by component digest, with a
 * least-recently-used byte budget. Deployed versions that fall out of it are
 * reloaded from their persisted artifacts on their next request (a cold
 * start: core modules are compiled again, nothing is re-transpiled).
 */
import type { LoadedComponent } from './compiler.js';

/** Cache statistics, for metrics and the API. */
export interface ModuleCacheStats {
  entries: number;
  bytes: number;
  budget: number;
  hits: number;
  misses: number;
  evictions: number;
}

interface Entry {
  loaded: LoadedComponent;
  /** Tick of the last use: the smallest is evicted first. */
  used: number;
}

/**
 * LRU cache of {@link LoadedComponent}s bounded by their module bytes.
 * Recency is a counter stamped on each hit (a hit is on every request, so it
 * must not reorder the map); eviction, rare, scans for the oldest stamp.
 */
export class ModuleCache {
  private readonly map = new Map<string, Entry>();
  private tick = 0;
  private readonly loading = new Map<string, Promise<LoadedComponent>>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(readonly budget: number) {}

  /** The cached component, refreshing its recency; undefined on a miss. */
  get(digest: string): LoadedComponent | undefined {
    const hit = this.map.get(digest);
    if (!hit) return undefined;
    this.hits++;
    hit.used = ++this.tick;
    return hit.loaded;
  }

  /** Returns the cached component or loads it once, however many callers ask at the same time. */
  async getOrLoad(digest: string, load: () => Promise<LoadedComponent>): Promise<{ loaded: LoadedComponent; cold: boolean }> {
    const hit = this.get(digest);
    if (hit) return { loaded: hit, cold: false };
    this.misses++;
    let p = this.loading.get(digest);
    if (!p) {
      p = load().then(
        (loaded) => {
          this.loading.delete(digest);
          this.set(digest, loaded);
          return loaded;
        },
        (e: unknown) => {
          this.loading.delete(digest);
          throw e;
        },
      );
      this.loading.set(digest, p);
    }
    return { loaded: await p, cold: true };
  }

  /** Inserts a component, evicting the least recently used ones beyond the budget (never the new one). */
  set(digest: string, loaded: LoadedComponent): void {
    const old = this.map.get(digest);
    if (old) this.bytes -= old.loaded.bytes;
    this.map.set(digest, { loaded, used: ++this.tick });
    this.bytes += loaded.bytes;
    while (this.bytes > this.budget) {
      let oldest: string | undefined;
      let oldestUsed = Infinity;
      for (const [k, e] of this.map) {
        if (k !== digest && e.used < oldestUsed) {
          oldest = k;
          oldestUsed = e.used;
        }
      }
      if (oldest === undefined) break;
      this.bytes -= this.map.get(oldest)!.loaded.bytes;
      this.map.delete(oldest);
      this.evictions++;
    }
  }

  /** Drops a component (its function was removed). */
  delete(digest: string): void {
    const old = this.map.get(digest);
    if (old) {
      this.bytes -= old.loaded.bytes;
      this.map.delete(digest);
    }
  }

  stats(): ModuleCacheStats {
    return { entries: this.map.size, bytes: this.bytes, budget: this.budget, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }
}
