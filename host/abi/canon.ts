/**
 * The canonical ABI, host side: turns a WIT function signature plus a host
 * implementation into the core wasm function a guest imports (`canon lower`).
 *
 * Everything type-directed is resolved once, when the lowered function is
 * built at deploy/prepare time, into a chain of small specialised closures; a
 * call then only reads flat arguments, touches guest memory and calls the
 * implementation. The guest's memory, realloc and handle table are found
 * through {@link register}, which the runtime points at the instance that is
 * running before every entry into guest code. JavaScript runs one guest at a
 * time per thread, so a lowered function can be shared by every instance of a
 * prepared component instead of being re-created per request.
 */
import type { HandleTable } from './handle-table.js';
import { Trap } from './trap.js';
import type { CoreType, FuncType, ValType } from './types.js';

/** String encodings a component can ask for in its canonical options. */
export type StringEncoding = 'utf8' | 'utf16' | 'latin1+utf16';

/** The guest realloc signature: `(old_ptr, old_size, align, new_size) -> ptr`. */
export type Realloc = (oldPtr: number, oldSize: number, align: number, newSize: number) => number;

/** One set of canonical options (memory, realloc, encoding) resolved for a live instance. */
export class MemSlot {
  private u8v: Uint8Array | undefined;
  private dvv: DataView | undefined;
  /** A shared memory keeps its old buffer's length after growing: its views are checked every time. */
  private shared = false;
  constructor(
    public memory: WebAssembly.Memory | undefined,
    public realloc: Realloc | undefined,
    public readonly encoding: StringEncoding,
  ) {}

  /**
   * A byte view of guest memory. Kept across calls: `memory.buffer` is an API
   * call (about 20 ns) and a slot serves many calls. Growing a memory
   * detaches its old buffer, which empties every view of it, so an empty view
   * is the sign to look again (a shared memory is looked at every time).
   */
  get u8(): Uint8Array {
    const v = this.u8v;
    if (v !== undefined && v.byteLength !== 0 && !this.shared) return v;
    return this.refresh().u8v!;
  }

  /** A DataView of guest memory, refreshed like {@link u8}. */
  get dv(): DataView {
    const v = this.dvv;
    if (v !== undefined && v.byteLength !== 0 && !this.shared) return v;
    return this.refresh().dvv!;
  }

  /** Allocates `size` bytes in guest memory through the guest's realloc. */
  alloc(align: number, size: number): number {
    const r = this.realloc;
    if (!r) throw new Trap('the component has no realloc for this call', 'abi_violation');
    const ptr = r(0, 0, align, size) >>> 0;
    if (ptr % align !== 0) throw new Trap(`realloc returned a misaligned pointer ${ptr}`, 'abi_violation');
    if (ptr + size > this.u8.length) throw new Trap(`realloc returned an out-of-bounds pointer ${ptr}`, 'abi_violation');
    return ptr;
  }

  private refresh(): this {
    const m = this.memory;
    if (!m) throw new Trap('the component has no memory for this call', 'abi_violation');
    const buf = m.buffer;
    if (buf === this.u8v?.buffer) return this;
    this.shared = typeof SharedArrayBuffer !== 'undefined' && buf instanceof SharedArrayBuffer;
    this.u8v = new Uint8Array(buf);
    this.dvv = new DataView(buf);
    return this;
  }
}

/** What a lowered function needs from the instance that is running. */
export interface CallContext extends Resumable {
  /** Resource handles of the running instance. */
  readonly handles: HandleTable;
  /** Canonical-option slots of the running instance, indexed as assigned at link time. */
  readonly slots: MemSlot[];
}

/**
 * Points at the instance whose guest code is running. The runtime sets it
 * before each call into a guest; lowered functions read it.
 */
export const register: { cx: CallContext | undefined } = { cx: undefined };

/**
 * Returned by a host implementation that has suspended the guest (see
 * `GuestContext.suspend`): the lowered function then returns without storing a
 * result, the guest unwinds, and the same import is called again on resume.
 */
export const SUSPENDED: unique symbol = Symbol('suspended');
/** The type of {@link SUSPENDED}. */
export type Suspended = typeof SUSPENDED;

/** What a lowered function checks on entry: whether the guest is being rewound into it. */
export interface Resumable {
  /** Called on entry to every lowered import while the guest is rewinding. */
  readonly rewinding: boolean;
  /** Ends a rewind: the guest has reached the import that suspended. */
  stopRewind(): void;
}

/** A host implementation of one imported WIT function. Receives lifted values. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type HostFn = (cx: any, ...args: any[]) => unknown;

const MAX_FLAT_PARAMS = 16;
const MAX_FLAT_RESULTS = 1;

/** The unique key of a resource type in handle tables. */
export function resourceKey(t: { iface: string; name: string }): string {
  return `${t.iface}#${t.name}`;
}

// ---------------------------------------------------------------------------
// Layout: flattening, size, alignment.

const flatCache = new WeakMap<ValType, CoreType[]>();
const sizeCache = new WeakMap<ValType, number>();
const alignCache = new WeakMap<ValType, number>();

function joinCore(a: CoreType, b: CoreType): CoreType {
  if (a === b) return a;
  if ((a === 'i32' && b === 'f32') || (a === 'f32' && b === 'i32')) return 'i32';
  return 'i64';
}

function flattenVariant(cases: readonly (ValType | undefined)[]): CoreType[] {
  const flat: CoreType[] = [];
  for (const c of cases) {
    if (!c) continue;
    flattenType(c).forEach((ft, i) => {
      flat[i] = i < flat.length ? joinCore(flat[i]!, ft) : ft;
    });
  }
  return [discCore(cases.length), ...flat];
}

function discCore(_n: number): CoreType {
  return 'i32';
}

/** The flat core types of a value type. */
export function flattenType(t: ValType): CoreType[] {
  const hit = flatCache.get(t);
  if (hit) return hit;
  let out: CoreType[];
  switch (t.k) {
    case 'bool': case 's8': case 'u8': case 's16': case 'u16': case 's32': case 'u32': case 'char':
    case 'enum': case 'own': case 'borrow':
      out = ['i32'];
      break;
    case 's64': case 'u64':
      out = ['i64'];
      break;
    case 'f32':
      out = ['f32'];
      break;
    case 'f64':
      out = ['f64'];
      break;
    case 'string': case 'list':
      out = ['i32', 'i32'];
      break;
    case 'flags':
      out = Array<CoreType>(Math.ceil(t.names.length / 32)).fill('i32');
      break;
    case 'record':
      out = t.fields.flatMap((f) => flattenType(f.type));
      break;
    case 'tuple':
      out = t.types.flatMap((x) => flattenType(x));
      break;
    case 'variant':
      out = flattenVariant(t.cases.map((c) => c.type));
      break;
    case 'option':
      out = flattenVariant([undefined, t.type]);
      break;
    case 'result':
      out = flattenVariant([t.ok, t.err]);
      break;
  }
  flatCache.set(t, out);
  return out;
}

function discSize(n: number): number {
  return n <= 0x100 ? 1 : n <= 0x10000 ? 2 : 4;
}

function alignTo(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

function caseTypes(t: ValType): (ValType | undefined)[] {
  switch (t.k) {
    case 'variant':
      return t.cases.map((c) => c.type);
    case 'option':
      return [undefined, t.type];
    case 'result':
      return [t.ok, t.err];
    default:
      throw new Error(`not a variant: ${t.k}`);
  }
}

/** Alignment of a value type in linear memory. */
export function alignOf(t: ValType): number {
  const hit = alignCache.get(t);
  if (hit !== undefined) return hit;
  let a: number;
  switch (t.k) {
    case 'bool': case 's8': case 'u8': a = 1; break;
    case 's16': case 'u16': a = 2; break;
    case 's32': case 'u32': case 'f32': case 'char': case 'own': case 'borrow': case 'string': case 'list': a = 4; break;
    case 's64': case 'u64': case 'f64': a = 8; break;
    case 'enum': a = discSize(t.names.length); break;
    case 'flags': a = t.names.length <= 8 ? 1 : t.names.length <= 16 ? 2 : 4; break;
    case 'record': a = Math.max(1, ...t.fields.map((f) => alignOf(f.type))); break;
    case 'tuple': a = Math.max(1, ...t.types.map(alignOf)); break;
    case 'variant': case 'option': case 'result': {
      const cs = caseTypes(t);
      a = Math.max(discSize(cs.length), ...cs.map((c) => (c ? alignOf(c) : 1)));
      break;
    }
  }
  alignCache.set(t, a);
  return a;
}

/** Size of a value type in linear memory. */
export function sizeOf(t: ValType): number {
  const hit = sizeCache.get(t);
  if (hit !== undefined) return hit;
  let s: number;
  switch (t.k) {
    case 'bool': case 's8': case 'u8': s = 1; break;
    case 's16': case 'u16': s = 2; break;
    case 's32': case 'u32': case 'f32': case 'char': case 'own': case 'borrow': s = 4; break;
    case 's64': case 'u64': case 'f64': case 'string': case 'list': s = 8; break;
    case 'enum': s = discSize(t.names.length); break;
    case 'flags': s = t.names.length <= 8 ? 1 : t.names.length <= 16 ? 2 : 4 * Math.ceil(t.names.length / 32); break;
    case 'record': case 'tuple': {
      const types = t.k === 'record' ? t.fields.map((f) => f.type) : t.types;
      let off = 0;
      for (const x of types) off = alignTo(off, alignOf(x)) + sizeOf(x);
      s = alignTo(off, alignOf(t));
      break;
    }
    case 'variant': case 'option': case 'result': {
      const cs = caseTypes(t);
      const payloadOff = alignTo(discSize(cs.length), Math.max(1, ...cs.map((c) => (c ? alignOf(c) : 1))));
      s = alignTo(payloadOff + Math.max(0, ...cs.map((c) => (c ? sizeOf(c) : 0))), alignOf(t));
      break;
    }
  }
  sizeCache.set(t, s);
  return s;
}

function payloadOffset(t: ValType): number {
  const cs = caseTypes(t);
  return alignTo(discSize(cs.length), Math.max(1, ...cs.map((c) => (c ? alignOf(c) : 1))));
}

// ---------------------------------------------------------------------------
// Strings.

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf16Decoder = new TextDecoder('utf-16le', { fatal: true });
const utf8Encoder = new TextEncoder();

function checkRange(s: MemSlot, ptr: number, len: number): Uint8Array {
  const u8 = s.u8;
  if (ptr + len > u8.length) throw new Trap(`out-of-bounds memory access at ${ptr}+${len}`, 'abi_violation');
  return u8;
}

function liftString(s: MemSlot, ptr: number, len: number): string {
  ptr >>>= 0;
  len >>>= 0;
  if (s.encoding === 'utf8') {
    const u8 = checkRange(s, ptr, len);
    if (len <= 64) {
      // Short ASCII strings (header names, methods) are common; skip TextDecoder's call overhead.
      let out = '';
      for (let i = 0; i < len; i++) {
        const c = u8[ptr + i]!;
        if (c >= 0x80) return decodeUtf8(u8, ptr, len);
        out += String.fromCharCode(c);
      }
      return out;
    }
    return decodeUtf8(u8, ptr, len);
  }
  if (s.encoding === 'latin1+utf16' && (len & 0x80000000) === 0) {
    const u8 = checkRange(s, ptr, len);
    let out = '';
    for (let i = 0; i < len; i++) out += String.fromCharCode(u8[ptr + i]!);
    return out;
  }
  const units = len & 0x7fffffff;
  if (ptr % 2 !== 0) throw new Trap('misaligned UTF-16 string', 'abi_violation');
  const u8 = checkRange(s, ptr, units * 2);
  try {
    return utf16Decoder.decode(u8.subarray(ptr, ptr + units * 2));
  } catch {
    throw new Trap('invalid UTF-16 string from guest', 'abi_violation');
  }
}

function decodeUtf8(u8: Uint8Array, ptr: number, len: number): string {
  try {
    return utf8Decoder.decode(u8.subarray(ptr, ptr + len));
  } catch {
    throw new Trap('invalid UTF-8 string from guest', 'abi_violation');
  }
}

/** Stores a string into guest memory; returns [ptr, len] as the canonical ABI encodes them. */
function lowerString(s: MemSlot, v: string): [number, number] {
  if (s.encoding === 'utf8') {
    // Fast path for ASCII.
    let ascii = true;
    for (let i = 0; i < v.length; i++) {
      if (v.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      const ptr = s.alloc(1, v.length);
      const u8 = s.u8;
      for (let i = 0; i < v.length; i++) u8[ptr + i] = v.charCodeAt(i);
      return [ptr, v.length];
    }
    const bytes = utf8Encoder.encode(v);
    const ptr = s.alloc(1, bytes.length);
    s.u8.set(bytes, ptr);
    return [ptr, bytes.length];
  }
  // utf16, and latin1+utf16 always written as UTF-16 (tagged).
  const ptr = s.alloc(2, v.length * 2);
  const dv = s.dv;
  for (let i = 0; i < v.length; i++) dv.setUint16(ptr + i * 2, v.charCodeAt(i), true);
  return [ptr, s.encoding === 'utf16' ? v.length : (v.length | 0x80000000) >>> 0];
}

// ---------------------------------------------------------------------------
// Loading and storing values in linear memory.

type Load = (cx: CallContext, s: MemSlot, ptr: number) => unknown;
type Store = (cx: CallContext, s: MemSlot, ptr: number, v: unknown) => void;

const loadCache = new WeakMap<ValType, Load>();
const storeCache = new WeakMap<ValType, Store>();

function loadDisc(s: MemSlot, ptr: number, n: number): number {
  const size = discSize(n);
  const d = size === 1 ? s.u8[ptr]! : size === 2 ? s.dv.getUint16(ptr, true) : s.dv.getUint32(ptr, true);
  if (d >= n) throw new Trap(`invalid discriminant ${d}`, 'abi_violation');
  return d;
}

function storeDisc(s: MemSlot, ptr: number, n: number, d: number): void {
  const size = discSize(n);
  if (size === 1) s.u8[ptr] = d;
  else if (size === 2) s.dv.setUint16(ptr, d, true);
  else s.dv.setUint32(ptr, d, true);
}

/** Builds a loader that reads a value of type `t` from guest memory. */
export function makeLoad(t: ValType): Load {
  const hit = loadCache.get(t);
  if (hit) return hit;
  let f: Load;
  switch (t.k) {
    case 'bool': f = (_c, s, p) => s.u8[p] !== 0; break;
    case 'u8': f = (_c, s, p) => s.u8[p]; break;
    case 's8': f = (_c, s, p) => s.dv.getInt8(p); break;
    case 'u16': f = (_c, s, p) => s.dv.getUint16(p, true); break;
    case 's16': f = (_c, s, p) => s.dv.getInt16(p, true); break;
    case 'u32': f = (_c, s, p) => s.dv.getUint32(p, true); break;
    case 's32': f = (_c, s, p) => s.dv.getInt32(p, true); break;
    case 'u64': f = (_c, s, p) => s.dv.getBigUint64(p, true); break;
    case 's64': f = (_c, s, p) => s.dv.getBigInt64(p, true); break;
    case 'f32': f = (_c, s, p) => s.dv.getFloat32(p, true); break;
    case 'f64': f = (_c, s, p) => s.dv.getFloat64(p, true); break;
    case 'char': f = (_c, s, p) => charFrom(s.dv.getUint32(p, true)); break;
    case 'string': f = (_c, s, p) => liftString(s, s.dv.getUint32(p, true), s.dv.getUint32(p + 4, true)); break;
    case 'list': {
      const lift = makeLiftList(t.elem);
      f = (c, s, p) => lift(c, s, s.dv.getUint32(p, true), s.dv.getUint32(p + 4, true));
      break;
    }
    case 'enum': {
      const names = t.names;
      f = (_c, s, p) => names[loadDisc(s, p, names.length)];
      break;
    }
    case 'flags': {
      const size = sizeOf(t);
      f = (_c, s, p) => (size === 1 ? s.u8[p]! : size === 2 ? s.dv.getUint16(p, true) : s.dv.getUint32(p, true));
      break;
    }
    case 'own': case 'borrow': {
      const key = resourceKey(t.resource);
      const own = t.k === 'own';
      f = (c, s, p) => {
        const h = s.dv.getUint32(p, true);
        return own ? c.handles.take(key, h) : c.handles.get(key, h);
      };
      break;
    }
    case 'record': case 'tuple': {
      const members = t.k === 'record' ? t.fields.map((x) => x.type) : t.types;
      const names = t.k === 'record' ? t.fields.map((x) => x.name) : undefined;
      const offs: number[] = [];
      let off = 0;
      for (const m of members) {
        off = alignTo(off, alignOf(m));
        offs.push(off);
        off += sizeOf(m);
      }
      const loads = members.map(makeLoad);
      f = names
        ? (c, s, p) => {
            const o: Record<string, unknown> = {};
            for (let i = 0; i < loads.length; i++) o[names[i]!] = loads[i]!(c, s, p + offs[i]!);
            return o;
          }
        : (c, s, p) => loads.map((l, i) => l(c, s, p + offs[i]!));
      break;
    }
    case 'variant': case 'option': case 'result': {
      const cs = caseTypes(t);
      const loads = cs.map((x) => (x ? makeLoad(x) : undefined));
      const po = payloadOffset(t);
      const wrap = wrapCase(t);
      f = (c, s, p) => {
        const d = loadDisc(s, p, cs.length);
        const l = loads[d];
        return wrap(d, l ? l(c, s, p + po) : undefined);
      };
      break;
    }
  }
  loadCache.set(t, f);
  return f;
}

function charFrom(cp: number): string {
  if (cp >= 0x110000 || (cp >= 0xd800 && cp <= 0xdfff)) throw new Trap(`invalid char ${cp}`, 'abi_violation');
  return String.fromCodePoint(cp);
}

/** Turns a discriminant and payload into the host representation of a variant-like value. */
function wrapCase(t: ValType): (d: number, v: unknown) => unknown {
  switch (t.k) {
    case 'option':
      return (d, v) => (d === 0 ? undefined : v);
    case 'result':
      return (d, v) => (d === 0 ? { tag: 'ok', val: v } : { tag: 'err', val: v });
    case 'variant': {
      const names = t.cases.map((c) => c.name);
      return (d, v) => (v === undefined ? { tag: names[d] } : { tag: names[d], val: v });
    }
    default:
      throw new Error('unreachable');
  }
}

/** Turns a host value of a variant-like type into [discriminant, payload]. */
function unwrapCase(t: ValType): (v: unknown) => [number, unknown] {
  switch (t.k) {
    case 'option':
      return (v) => (v === undefined || v === null ? [0, undefined] : [1, v]);
    case 'result':
      return (v) => {
        const r = v as { tag: string; val?: unknown };
        if (r.tag === 'ok') return [0, r.val];
        if (r.tag === 'err') return [1, r.val];
        throw new Error(`bad result value ${JSON.stringify(r)}`);
      };
    case 'variant': {
      const idx = new Map(t.cases.map((c, i) => [c.name, i]));
      return (v) => {
        const r = v as { tag: string; val?: unknown };
        const d = idx.get(r.tag);
        if (d === undefined) throw new Error(`unknown variant case '${r.tag}'`);
        return [d, r.val];
      };
    }
    default:
      throw new Error('unreachable');
  }
}

function makeLiftList(elem: ValType): (c: CallContext, s: MemSlot, ptr: number, len: number) => unknown {
  if (elem.k === 'u8') {
    return (_c, s, ptr, len) => {
      ptr >>>= 0;
      len >>>= 0;
      const u8 = checkRange(s, ptr, len);
      return u8.slice(ptr, ptr + len);
    };
  }
  const size = sizeOf(elem);
  const align = alignOf(elem);
  const load = makeLoad(elem);
  return (c, s, ptr, len) => {
    ptr >>>= 0;
    len >>>= 0;
    if (ptr % align !== 0) throw new Trap('misaligned list', 'abi_violation');
    checkRange(s, ptr, len * size);
    const out = new Array<unknown>(len);
    for (let i = 0; i < len; i++) out[i] = load(c, s, ptr + i * size);
    return out;
  };
}

/** Stores a list into freshly allocated guest memory; returns [ptr, len]. */
function makeLowerList(elem: ValType): (c: CallContext, s: MemSlot, v: unknown) => [number, number] {
  if (elem.k === 'u8') {
    return (_c, s, v) => {
      const bytes = v as Uint8Array;
      const ptr = s.alloc(1, bytes.length);
      s.u8.set(bytes, ptr);
      return [ptr, bytes.length];
    };
  }
  const size = sizeOf(elem);
  const align = alignOf(elem);
  const store = makeStore(elem);
  return (c, s, v) => {
    const arr = v as unknown[];
    const ptr = s.alloc(align, arr.length * size);
    for (let i = 0; i < arr.length; i++) store(c, s, ptr + i * size, arr[i]);
    return [ptr, arr.length];
  };
}

/** Builds a storer that writes a host value of type `t` into guest memory. */
export function makeStore(t: ValType): Store {
  const hit = storeCache.get(t);
  if (hit) return hit;
  let f: Store;
  switch (t.k) {
    case 'bool': f = (_c, s, p, v) => { s.u8[p] = v ? 1 : 0; }; break;
    case 'u8': case 's8': f = (_c, s, p, v) => { s.u8[p] = v as number; }; break;
    case 'u16': case 's16': f = (_c, s, p, v) => s.dv.setUint16(p, v as number, true); break;
    case 'u32': case 's32': f = (_c, s, p, v) => s.dv.setUint32(p, (v as number) >>> 0, true); break;
    case 'u64': case 's64': f = (_c, s, p, v) => s.dv.setBigUint64(p, BigInt.asUintN(64, BigInt(v as bigint)), true); break;
    case 'f32': f = (_c, s, p, v) => s.dv.setFloat32(p, v as number, true); break;
    case 'f64': f = (_c, s, p, v) => s.dv.setFloat64(p, v as number, true); break;
    case 'char': f = (_c, s, p, v) => s.dv.setUint32(p, (v as string).codePointAt(0)!, true); break;
    case 'string':
      f = (_c, s, p, v) => {
        const [ptr, len] = lowerString(s, v as string);
        const dv = s.dv;
        dv.setUint32(p, ptr, true);
        dv.setUint32(p + 4, len, true);
      };
      break;
    case 'list': {
      const lower = makeLowerList(t.elem);
      f = (c, s, p, v) => {
        const [ptr, len] = lower(c, s, v);
        const dv = s.dv;
        dv.setUint32(p, ptr, true);
        dv.setUint32(p + 4, len, true);
      };
      break;
    }
    case 'enum': {
      const idx = new Map(t.names.map((n, i) => [n, i]));
      const n = t.names.length;
      f = (_c, s, p, v) => {
        const d = idx.get(v as string);
        if (d === undefined) throw new Error(`unknown enum case '${String(v)}'`);
        storeDisc(s, p, n, d);
      };
      break;
    }
    case 'flags': {
      const size = sizeOf(t);
      f = (_c, s, p, v) => {
        if (size === 1) s.u8[p] = v as number;
        else if (size === 2) s.dv.setUint16(p, v as number, true);
        else s.dv.setUint32(p, (v as number) >>> 0, true);
      };
      break;
    }
    case 'own': {
      const key = resourceKey(t.resource);
      f = (c, s, p, v) => s.dv.setUint32(p, c.handles.insert(key, v), true);
      break;
    }
    case 'borrow':
      throw new Error('borrow handles cannot be returned to a guest');
    case 'record': case 'tuple': {
      const members = t.k === 'record' ? t.fields.map((x) => x.type) : t.types;
      const names = t.k === 'record' ? t.fields.map((x) => x.name) : undefined;
      const offs: number[] = [];
      let off = 0;
      for (const m of members) {
        off = alignTo(off, alignOf(m));
        offs.push(off);
        off += sizeOf(m);
      }
      const stores = members.map(makeStore);
      f = names
        ? (c, s, p, v) => {
            const o = v as Record<string, unknown>;
            for (let i = 0; i < stores.length; i++) stores[i]!(c, s, p + offs[i]!, o[names[i]!]);
          }
        : (c, s, p, v) => {
            const a = v as unknown[];
            for (let i = 0; i < stores.length; i++) stores[i]!(c, s, p + offs[i]!, a[i]);
          };
      break;
    }
    case 'variant': case 'option': case 'result': {
      const cs = caseTypes(t);
      const stores = cs.map((x) => (x ? makeStore(x) : undefined));
      const po = payloadOffset(t);
      const unwrap = unwrapCase(t);
      const n = cs.length;
      f = (c, s, p, v) => {
        const [d, val] = unwrap(v);
        storeDisc(s, p, n, d);
        const st = stores[d];
        if (st) st(c, s, p + po, val);
      };
      break;
    }
  }
  storeCache.set(t, f);
  return f;
}

// ---------------------------------------------------------------------------
// Flat lifting (arguments passed in core parameters).

type FlatVal = number | bigint;
type LiftFlat = (c: CallContext, s: MemSlot, vals: FlatVal[], off: number) => unknown;

function coerce(v: FlatVal, have: CoreType, want: CoreType): FlatVal {
  if (have === want) return v;
  const f32 = new Float32Array(1);
  const i32 = new Int32Array(f32.buffer);
  const f64 = new Float64Array(1);
  const i64 = new BigInt64Array(f64.buffer);
  if (have === 'i32' && want === 'f32') {
    i32[0] = v as number;
    return f32[0]!;
  }
  if (have === 'i64' && want === 'i32') return Number(BigInt.asIntN(32, v as bigint));
  if (have === 'i64' && want === 'f32') {
    i32[0] = Number(BigInt.asIntN(32, v as bigint));
    return f32[0]!;
  }
  if (have === 'i64' && want === 'f64') {
    i64[0] = v as bigint;
    return f64[0]!;
  }
  return v;
}

function makeLiftFlat(t: ValType): LiftFlat {
  switch (t.k) {
    case 'bool': return (_c, _s, v, o) => v[o] !== 0;
    case 'u8': return (_c, _s, v, o) => (v[o] as number) & 0xff;
    case 's8': return (_c, _s, v, o) => ((v[o] as number) << 24) >> 24;
    case 'u16': return (_c, _s, v, o) => (v[o] as number) & 0xffff;
    case 's16': return (_c, _s, v, o) => ((v[o] as number) << 16) >> 16;
    case 'u32': return (_c, _s, v, o) => (v[o] as number) >>> 0;
    case 's32': return (_c, _s, v, o) => (v[o] as number) | 0;
    case 'u64': return (_c, _s, v, o) => BigInt.asUintN(64, v[o] as bigint);
    case 's64': return (_c, _s, v, o) => v[o] as bigint;
    case 'f32': case 'f64': return (_c, _s, v, o) => v[o];
    case 'char': return (_c, _s, v, o) => charFrom((v[o] as number) >>> 0);
    case 'string': return (_c, s, v, o) => liftString(s, v[o] as number, v[o + 1] as number);
    case 'list': {
      const lift = makeLiftList(t.elem);
      return (c, s, v, o) => lift(c, s, v[o] as number, v[o + 1] as number);
    }
    case 'enum': {
      const names = t.names;
      return (_c, _s, v, o) => {
        const d = (v[o] as number) >>> 0;
        if (d >= names.length) throw new Trap(`invalid enum value ${d}`, 'abi_violation');
        return names[d];
      };
    }
    case 'flags': return (_c, _s, v, o) => (v[o] as number) >>> 0;
    case 'own': {
      const key = resourceKey(t.resource);
      return (c, _s, v, o) => c.handles.take(key, v[o] as number);
    }
    case 'borrow': {
      const key = resourceKey(t.resource);
      return (c, _s, v, o) => c.handles.get(key, v[o] as number);
    }
    case 'record': case 'tuple': {
      const members = t.k === 'record' ? t.fields.map((x) => x.type) : t.types;
      const names = t.k === 'record' ? t.fields.map((x) => x.name) : undefined;
      const lifts = members.map(makeLiftFlat);
      const offs: number[] = [];
      let off = 0;
      for (const m of members) {
        offs.push(off);
        off += flattenType(m).length;
      }
      return names
        ? (c, s, v, o) => {
            const r: Record<string, unknown> = {};
            for (let i = 0; i < lifts.length; i++) r[names[i]!] = lifts[i]!(c, s, v, o + offs[i]!);
            return r;
          }
        : (c, s, v, o) => lifts.map((l, i) => l(c, s, v, o + offs[i]!));
    }
    case 'variant': case 'option': case 'result': {
      const cs = caseTypes(t);
      const joined = flattenType(t).slice(1);
      const lifts = cs.map((x) => (x ? makeLiftFlat(x) : undefined));
      const wants = cs.map((x) => (x ? flattenType(x) : []));
      const wrap = wrapCase(t);
      return (c, s, v, o) => {
        const d = (v[o] as number) >>> 0;
        if (d >= cs.length) throw new Trap(`invalid discriminant ${d}`, 'abi_violation');
        const l = lifts[d];
        if (!l) return wrap(d, undefined);
        const want = wants[d]!;
        const tmp: FlatVal[] = new Array(want.length);
        for (let i = 0; i < want.length; i++) tmp[i] = coerce(v[o + 1 + i]!, joined[i]!, want[i]!);
        return wrap(d, l(c, s, tmp, 0));
      };
    }
  }
}

/** Lowers a single-flat-value result into its core value. */
function makeLowerFlat1(t: ValType): (c: CallContext, s: MemSlot, v: unknown) => FlatVal {
  switch (t.k) {
    case 'bool': return (_c, _s, v) => (v ? 1 : 0);
    case 'u8': case 's8': case 'u16': case 's16': case 's32': return (_c, _s, v) => v as number;
    case 'u32': return (_c, _s, v) => (v as number) | 0;
    case 'u64': case 's64': return (_c, _s, v) => BigInt.asIntN(64, BigInt(v as bigint));
    case 'f32': case 'f64': return (_c, _s, v) => v as number;
    case 'char': return (_c, _s, v) => (v as string).codePointAt(0)!;
    case 'flags': return (_c, _s, v) => (v as number) | 0;
    case 'enum': {
      const idx = new Map(t.names.map((n, i) => [n, i]));
      return (_c, _s, v) => {
        const d = idx.get(v as string);
        if (d === undefined) throw new Error(`unknown enum case '${String(v)}'`);
        return d;
      };
    }
    case 'own': {
      const key = resourceKey(t.resource);
      return (c, _s, v) => c.handles.insert(key, v);
    }
    case 'option': {
      // option<T> with an empty T flattens to one i32.
      return (_c, _s, v) => (v === undefined || v === null ? 0 : 1);
    }
    case 'result':
      return (_c, _s, v) => ((v as { tag: string }).tag === 'ok' ? 0 : 1);
    case 'variant': {
      const idx = new Map(t.cases.map((c, i) => [c.name, i]));
      return (_c, _s, v) => idx.get((v as { tag: string }).tag)!;
    }
    case 'record': case 'tuple': {
      const members = t.k === 'record' ? t.fields.map((x) => x.type) : t.types;
      const i = members.findIndex((m) => flattenType(m).length === 1);
      const inner = makeLowerFlat1(members[i]!);
      const name = t.k === 'record' ? t.fields[i]!.name : undefined;
      return (c, s, v) => inner(c, s, name ? (v as Record<string, unknown>)[name] : (v as unknown[])[i]);
    }
    default:
      throw new Error(`type ${t.k} does not flatten to one value`);
  }
}

// ---------------------------------------------------------------------------
// Lowered imports.

/** A core function ready to be passed as a guest import. */
export type CoreFn = (...args: FlatVal[]) => FlatVal | undefined;

/**
 * Builds the core function for an imported WIT function (`canon lower`).
 * `slot` selects the canonical options (memory/realloc/encoding) of the
 * running instance that this import was lowered with.
 */
export function lowerImport(ft: FuncType, impl: HostFn, slot: number): CoreFn {
  const paramTypes = ft.params.map((p) => p.type);
  const flatParams = paramTypes.flatMap(flattenType);
  const result = ft.result;
  const flatResults = result ? flattenType(result) : [];
  const retptr = flatResults.length > MAX_FLAT_RESULTS;
  const storeResult = retptr && result ? makeStore(result) : undefined;
  const lowerResult = !retptr && result ? makeLowerFlat1(result) : undefined;
  const retIndex = flatParams.length > MAX_FLAT_PARAMS ? 1 : flatParams.length;

  let liftArgs: (c: CallContext, s: MemSlot, v: FlatVal[]) => unknown[];
  if (flatParams.length > MAX_FLAT_PARAMS) {
    const load = makeLoad({ k: 'tuple', types: paramTypes });
    liftArgs = (c, s, v) => load(c, s, (v[0] as number) >>> 0) as unknown[];
  } else {
    const lifts = paramTypes.map(makeLiftFlat);
    const offs: number[] = [];
    let off = 0;
    for (const p of paramTypes) {
      offs.push(off);
      off += flattenType(p).length;
    }
    liftArgs = (c, s, v) => {
      const out = new Array<unknown>(lifts.length);
      for (let i = 0; i < lifts.length; i++) out[i] = lifts[i]!(c, s, v, offs[i]!);
      return out;
    };
  }

  // Specialised forms for the common shapes keep the per-call work minimal.
  const zero: FlatVal | undefined = flatResults[0] === 'i64' ? 0n : flatResults.length === 1 ? 0 : undefined;
  if (paramTypes.length === 0 && !retptr) {
    return () => {
      const cx = register.cx!;
      if (cx.rewinding) cx.stopRewind();
      const r = impl(cx);
      if (r === SUSPENDED) return zero;
      return lowerResult ? lowerResult(cx, cx.slots[slot]!, r) : undefined;
    };
  }
  const resultAlign = storeResult ? alignOf(result!) : 1;
  /** Hands the implementation's result back to the guest: stored at the return pointer, or as the flat result. */
  const finish = (cx: CallContext, s: MemSlot, v: FlatVal[], r: unknown): FlatVal | undefined => {
    if (r === SUSPENDED) return zero;
    if (storeResult) {
      const p = (v[retIndex] as number) >>> 0;
      if (p % resultAlign !== 0) throw new Trap('misaligned return pointer', 'abi_violation');
      storeResult(cx, s, p, r);
      return undefined;
    }
    return lowerResult ? lowerResult(cx, s, r) : undefined;
  };
  // One to three flat-lifted parameters (most wasi:http and wasi:io calls): no argument array, no spread call.
  if (flatParams.length <= MAX_FLAT_PARAMS && paramTypes.length >= 1 && paramTypes.length <= 3) {
    const lift0 = makeLiftFlat(paramTypes[0]!);
    if (paramTypes.length === 1) {
      return (...v: FlatVal[]) => {
        const cx = register.cx!;
        if (cx.rewinding) cx.stopRewind();
        const s = cx.slots[slot]!;
        return finish(cx, s, v, impl(cx, lift0(cx, s, v, 0)));
      };
    }
    const lift1 = makeLiftFlat(paramTypes[1]!);
    const off1 = flattenType(paramTypes[0]!).length;
    if (paramTypes.length === 3) {
      const lift2 = makeLiftFlat(paramTypes[2]!);
      const off2 = off1 + flattenType(paramTypes[1]!).length;
      return (...v: FlatVal[]) => {
        const cx = register.cx!;
        if (cx.rewinding) cx.stopRewind();
        const s = cx.slots[slot]!;
        return finish(cx, s, v, impl(cx, lift0(cx, s, v, 0), lift1(cx, s, v, off1), lift2(cx, s, v, off2)));
      };
    }
    return (...v: FlatVal[]) => {
      const cx = register.cx!;
      if (cx.rewinding) cx.stopRewind();
      const s = cx.slots[slot]!;
      return finish(cx, s, v, impl(cx, lift0(cx, s, v, 0), lift1(cx, s, v, off1)));
    };
  }
  return (...v: FlatVal[]) => {
    const cx = register.cx!;
    if (cx.rewinding) cx.stopRewind();
    const s = cx.slots[slot]!;
    return finish(cx, s, v, impl(cx, ...liftArgs(cx, s, v)));
  };
}

/** Builds the core function for `canon resource.drop` of a host resource. */
export function lowerResourceDrop(resource: { iface: string; name: string }): CoreFn {
  const key = resourceKey(resource);
  return (h) => {
    const rep = register.cx!.handles.take(key, h as number) as { drop?: () => void } | undefined;
    rep?.drop?.();
    return undefined;
  };
}

/** The core signature a lowered import must have, for checking a guest's import types. */
export function loweredSignature(ft: FuncType): { params: CoreType[]; results: CoreType[] } {
  const flatParams = ft.params.flatMap((p) => flattenType(p.type));
  const flatResults = ft.result ? flattenType(ft.result) : [];
  const params: CoreType[] = flatParams.length > MAX_FLAT_PARAMS ? ['i32'] : flatParams;
  if (flatResults.length > MAX_FLAT_RESULTS) return { params: [...params, 'i32'], results: [] };
  return { params, results: flatResults };
}
