import { describe, expect, it } from 'vitest';
import { alignOf, flattenType, lowerImport, loweredSignature, MemSlot, register, sizeOf, type CallContext } from './canon.js';
import { HandleTable } from './handle-table.js';
import type { ValType } from './types.js';
import { WitRegistry } from './wit.js';

const wit = WitRegistry.fromDirectory('wit');
const u8: ValType = { k: 'u8' };
const str: ValType = { k: 'string' };

/** A guest stand-in: one page of memory and a bump realloc. */
function fakeGuest(): { cx: CallContext; mem: WebAssembly.Memory } {
  const mem = new WebAssembly.Memory({ initial: 1 });
  let heap = 1024;
  const realloc = (_o: number, _s: number, align: number, size: number): number => {
    heap = Math.ceil(heap / align) * align;
    const p = heap;
    heap += size;
    return p;
  };
  const cx: CallContext = { handles: new HandleTable(), slots: [new MemSlot(mem, realloc, 'utf8')], rewinding: false, stopRewind: () => undefined };
  return { cx, mem };
}

describe('layout', () => {
  it('computes sizes, alignments and flattening per the canonical ABI', () => {
    expect([sizeOf(str), alignOf(str), flattenType(str)]).toEqual([8, 4, ['i32', 'i32']]);
    const opt: ValType = { k: 'option', type: { k: 'u64' } };
    expect([sizeOf(opt), alignOf(opt), flattenType(opt)]).toEqual([16, 8, ['i32', 'i64']]);
    const res: ValType = { k: 'result', ok: { k: 'list', elem: u8 }, err: { k: 'variant', cases: [{ name: 'a', type: { k: 'u32' } }, { name: 'b', type: undefined }] } };
    expect(flattenType(res)).toEqual(['i32', 'i32', 'i32']);
    expect(sizeOf(res)).toBe(12);
  });

  it('lowers response-outparam.set to the nine core parameters wit-component expects', () => {
    const f = wit.get('wasi:http/types')!.funcs.get('[static]response-outparam.set')!;
    expect(loweredSignature(f)).toEqual({ params: ['i32', 'i32', 'i32', 'i32', 'i64', 'i32', 'i32', 'i32', 'i32'], results: [] });
  });

  it('returns through a pointer when a result flattens to more than one value', () => {
    const f = wit.get('wasi:http/types')!.funcs.get('[method]fields.get')!;
    expect(loweredSignature(f)).toEqual({ params: ['i32', 'i32', 'i32', 'i32'], results: [] });
  });
});

describe('lowerImport', () => {
  it('lifts string arguments, calls the host and stores a list<list<u8>> result in guest memory', () => {
    const { cx, mem } = fakeGuest();
    const f = wit.get('wasi:http/types')!.funcs.get('[method]fields.get')!;
    const self = { tag: 'fields' };
    const h = cx.handles.insert('wasi:http/types#fields', self);
    let seen: unknown[] = [];
    const fn = lowerImport(f, (_cx, s, name) => {
      seen = [s, name];
      return [new Uint8Array([1, 2, 3]), new Uint8Array([9])];
    }, 0);
    const bytes = new TextEncoder().encode('Content-Type');
    new Uint8Array(mem.buffer).set(bytes, 100);
    register.cx = cx;
    fn(h, 100, bytes.length, 16);
    register.cx = undefined;
    expect(seen).toEqual([self, 'Content-Type']);
    const dv = new DataView(mem.buffer);
    const [ptr, len] = [dv.getUint32(16, true), dv.getUint32(20, true)];
    expect(len).toBe(2);
    const first = [dv.getUint32(ptr, true), dv.getUint32(ptr + 4, true)];
    expect([...new Uint8Array(mem.buffer, first[0], first[1])]).toEqual([1, 2, 3]);
  });

  it('traps on a handle of the wrong resource type', () => {
    const { cx } = fakeGuest();
    const f = wit.get('wasi:http/types')!.funcs.get('[method]fields.has')!;
    const h = cx.handles.insert('wasi:io/streams#output-stream', {});
    const fn = lowerImport(f, () => true, 0);
    register.cx = cx;
    expect(() => fn(h, 0, 0)).toThrow(/unknown handle/);
    register.cx = undefined;
  });

  it('traps on invalid UTF-8 from the guest', () => {
    const { cx, mem } = fakeGuest();
    const f = wit.get('wasi:http/types')!.funcs.get('[method]fields.has')!;
    const h = cx.handles.insert('wasi:http/types#fields', {});
    new Uint8Array(mem.buffer).set([0xff, 0xfe], 200);
    const fn = lowerImport(f, () => true, 0);
    register.cx = cx;
    expect(() => fn(h, 200, 2)).toThrow(/invalid UTF-8/);
    register.cx = undefined;
  });

  it('moves an own result into the handle table and returns its handle', () => {
    const { cx } = fakeGuest();
    const f = wit.get('wasi:http/types')!.funcs.get('[constructor]fields')!;
    const obj = {};
    register.cx = cx;
    const h = lowerImport(f, () => obj, 0)() as number;
    register.cx = undefined;
    expect(h).toBeGreaterThan(0);
    expect(cx.handles.get('wasi:http/types#fields', h)).toBe(obj);
  });
});

describe('MemSlot', () => {
  it('keeps its view until the memory grows, then sees the grown memory', () => {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    const slot = new MemSlot(mem, undefined, 'utf8');
    const first = slot.u8;
    expect(slot.u8).toBe(first);
    expect(first.length).toBe(65536);
    mem.grow(1);
    expect(slot.u8.length).toBe(2 * 65536);
    expect(slot.dv.byteLength).toBe(2 * 65536);
    slot.u8[65536 + 5] = 7;
    expect(new Uint8Array(mem.buffer)[65536 + 5]).toBe(7);
  });

  it('sees a shared memory grow although the old buffer keeps its length', () => {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    const slot = new MemSlot(mem, undefined, 'utf8');
    expect(slot.u8.length).toBe(65536);
    mem.grow(2);
    expect(slot.u8.length).toBe(3 * 65536);
  });
});
