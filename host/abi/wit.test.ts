import { describe, expect, it } from 'vitest';
import { WitRegistry } from './wit.js';

const wit = WitRegistry.fromDirectory('wit');

describe('WitRegistry', () => {
  it('reads every vendored WASI 0.2 interface', () => {
    for (const name of ['wasi:http/types', 'wasi:io/streams', 'wasi:io/poll', 'wasi:cli/environment', 'wasi:clocks/monotonic-clock', 'wasi:random/random']) {
      expect(wit.get(name)?.version).toBe('0.2.12');
    }
  });

  it('names resource functions as the component model does, with an implicit self', () => {
    const t = wit.get('wasi:http/types')!;
    expect(t.funcs.get('[constructor]fields')).toMatchObject({ params: [], result: { k: 'own', resource: { iface: 'wasi:http/types', name: 'fields' } } });
    const get = t.funcs.get('[method]fields.get')!;
    expect(get.params.map((p) => p.name)).toEqual(['self', 'name']);
    expect(get.params[0]!.type).toEqual({ k: 'borrow', resource: { iface: 'wasi:http/types', name: 'fields' } });
    expect(t.funcs.has('[static]response-outparam.set')).toBe(true);
  });

  it('resolves uses and aliases across interfaces and packages', () => {
    const body = wit.get('wasi:http/types')!.funcs.get('[method]outgoing-body.write')!;
    // result<output-stream>, where output-stream is used from wasi:io/streams.
    expect(body.result).toEqual({ k: 'result', ok: { k: 'own', resource: { iface: 'wasi:io/streams', name: 'output-stream' } }, err: undefined });
    // `headers` is an alias of `fields`.
    const ctor = wit.get('wasi:http/types')!.funcs.get('[constructor]outgoing-response')!;
    expect(ctor.params[0]!.type).toEqual({ k: 'own', resource: { iface: 'wasi:http/types', name: 'fields' } });
  });

  it('keeps variant cases in declaration order', () => {
    const r = wit.get('wasi:io/streams')!.funcs.get('[method]output-stream.check-write')!.result!;
    expect(r.k === 'result' && r.err?.k === 'variant' ? r.err.cases.map((c) => c.name) : []).toEqual(['last-operation-failed', 'closed']);
  });

  it('reports a syntax error with the file name', () => {
    const r = new WitRegistry();
    expect(() => r.addSource('package wasi:x@0.2.0; interface i { f: func(; }', 'bad.wit')).toThrow(/bad\.wit/);
  });
});
