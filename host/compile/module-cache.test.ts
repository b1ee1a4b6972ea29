import { describe, expect, it } from 'vitest';
import type { LoadedComponent } from './compiler.js';
import { ModuleCache } from './module-cache.js';

const entry = (bytes: number) => ({ bytes }) as LoadedComponent;

describe('ModuleCache', () => {
  it('evicts the least recently used entries beyond its byte budget', () => {
    const c = new ModuleCache(100);
    c.set('a', entry(40));
    c.set('b', entry(40));
    c.get('a');
    c.set('c', entry(40));
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBeDefined();
    expect(c.stats()).toMatchObject({ entries: 2, bytes: 80, evictions: 1 });
  });

  it('loads a missing entry once for concurrent callers and marks it cold', async () => {
    const c = new ModuleCache(100);
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 5));
      return entry(10);
    };
    const [x, y] = await Promise.all([c.getOrLoad('k', load), c.getOrLoad('k', load)]);
    expect(loads).toBe(1);
    expect(x.cold && y.cold).toBe(true);
    expect((await c.getOrLoad('k', load)).cold).toBe(false);
  });

  it('keeps a single entry larger than the budget (it is in use)', () => {
    const c = new ModuleCache(10);
    c.set('big', entry(50));
    expect(c.get('big')).toBeDefined();
  });
});
