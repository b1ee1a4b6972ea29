import { describe, expect, it } from 'vitest';
import { FieldLimitError, Fields, isValidFieldValue, latin1String } from './fields.js';

const b = (s: string) => new TextEncoder().encode(s);

describe('Fields', () => {
  it('stores names lower-cased and keeps repeated values in order', () => {
    const f = new Fields(false, undefined);
    expect(f.add('X-A', b('1'))).toBeUndefined();
    expect(f.add('x-a', b('2'))).toBeUndefined();
    expect(f.get('X-a').map((v) => new TextDecoder().decode(v))).toEqual(['1', '2']);
    expect(f.toHeaderPairs()).toEqual([['x-a', '1'], ['x-a', '2']]);
  });

  it('rejects invalid names and values with invalid-syntax', () => {
    const f = new Fields(false, undefined);
    expect(f.add('bad name', b('v'))).toEqual({ tag: 'invalid-syntax' });
    expect(f.add('', b('v'))).toEqual({ tag: 'invalid-syntax' });
    expect(f.add('ok', b('a\r\nInjected: 1'))).toEqual({ tag: 'invalid-syntax' });
    expect(isValidFieldValue(b('tab\tinside'))).toBe(true);
  });

  it('forbids hop-by-hop and host-controlled headers', () => {
    const f = new Fields(false, undefined);
    for (const n of ['Connection', 'transfer-encoding', 'Host', 'upgrade', 'keep-alive']) expect(f.add(n, b('x'))).toEqual({ tag: 'forbidden' });
  });

  it('refuses changes to an immutable set', () => {
    const f = Fields.fromHeaders([['a', '1']]);
    expect(f.add('b', b('2'))).toEqual({ tag: 'immutable' });
    expect(f.set('a', [])).toEqual({ tag: 'immutable' });
    expect(f.delete('a')).toEqual({ tag: 'immutable' });
    const copy = f.clone(undefined);
    expect(copy.add('b', b('2'))).toBeUndefined();
  });

  it('enforces count and size limits', () => {
    const f = new Fields(false, { maxHeaders: 2, maxHeaderBytes: 1000 });
    f.add('a', b('1'));
    f.add('b', b('1'));
    expect(() => f.add('c', b('1'))).toThrow(FieldLimitError);
    const g = new Fields(false, { maxHeaders: 10, maxHeaderBytes: 10 });
    expect(() => g.add('name', b('12345678'))).toThrow(FieldLimitError);
  });

  it('turns values into one character per byte, so node writes the same bytes back (obs-text included)', () => {
    const f = new Fields(false, undefined);
    const value = new Uint8Array([0x61, 0x80, 0x9f, 0xe9, 0xff]);
    expect(f.add('x-raw', value)).toBeUndefined();
    const init = f.toHeaderInit('x-id', '1') as Record<string, string>;
    expect(Buffer.from(init['x-raw']!, 'latin1')).toEqual(Buffer.from(value));
    expect(Buffer.from(f.toHeaderPairs()[0]![1], 'latin1')).toEqual(Buffer.from(value));
    const long = new Uint8Array(200).map((_, i) => 0x60 + (i % 0xa0));
    expect(Buffer.from(latin1String(long), 'latin1')).toEqual(Buffer.from(long));
  });
});
