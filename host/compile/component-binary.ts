/**
 * A reader for the parts of the component-model binary format that the host
 * needs to instantiate a component without generated glue: the core modules,
 * the core instance graph, `canon` definitions, aliases, imports and exports.
 * Type definitions are counted (they occupy indices) but not decoded: the host
 * knows the WIT signature of every function it provides from the vendored WIT.
 *
 * The layout follows the component model's Binary.md. Anything outside the
 * subset wit-component produces for the worlds we host (a `start` section,
 * values, async canon built-ins) is reported as unsupported.
 */

/** A canonical option set as written in the component. */
export interface CanonOpts {
  encoding: 'utf8' | 'utf16' | 'latin1+utf16';
  /** Core memory index. */
  memory?: number;
  /** Core func index of realloc. */
  realloc?: number;
  /** Core func index of post-return. */
  postReturn?: number;
}

/** A core instance definition. */
export type CoreInstanceDef =
  | { kind: 'instantiate'; module: number; args: { name: string; instance: number }[] }
  | { kind: 'exports'; exports: { name: string; sort: CoreSort; index: number }[] };

/** Core sorts that can appear in core instance exports and aliases. */
export type CoreSort = 'func' | 'table' | 'memory' | 'global' | 'type' | 'module' | 'instance';

/** Where a core func comes from. */
export type CoreFuncDef =
  | { kind: 'lower'; func: number; opts: CanonOpts }
  | { kind: 'alias'; instance: number; name: string }
  | { kind: 'resource.drop' | 'resource.new' | 'resource.rep'; type: number };

/** Where a core memory, table or global comes from (always an alias of a core instance export). */
export interface CoreExportAlias {
  instance: number;
  name: string;
}

/** Where a component-level func comes from. */
export type FuncDef =
  | { kind: 'alias'; instance: number; name: string }
  | { kind: 'lift'; coreFunc: number; opts: CanonOpts; type: number }
  | { kind: 'import'; name: string }
  | { kind: 'other' };

/** Where a component-level instance comes from. */
export type InstanceDef = { kind: 'import'; name: string } | { kind: 'other' };

/** Where a component-level type comes from. */
export type TypeDef = { kind: 'alias'; instance: number; name: string } | { kind: 'other' };

/** The decoded structure of a component. */
export interface ComponentStructure {
  modules: Uint8Array[];
  coreInstances: CoreInstanceDef[];
  coreFuncs: CoreFuncDef[];
  coreMemories: CoreExportAlias[];
  coreTables: CoreExportAlias[];
  coreGlobals: CoreExportAlias[];
  funcs: FuncDef[];
  instances: InstanceDef[];
  types: TypeDef[];
  imports: { name: string; sort: 'func' | 'instance' | 'type' | 'module' | 'component' | 'value' }[];
  exports: { name: string; sort: string; index: number }[];
  /** Number of nested components (their contents are not decoded). */
  components: number;
}

/** A component binary that this reader cannot use. */
export class ComponentFormatError extends Error {
  override readonly name = 'ComponentFormatError';
}

const CORE_SORTS: Record<number, CoreSort> = {
  0x00: 'func',
  0x01: 'table',
  0x02: 'memory',
  0x03: 'global',
  0x10: 'type',
  0x11: 'module',
  0x12: 'instance',
};

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }
  byte(): number {
    if (this.pos >= this.end) throw new ComponentFormatError('unexpected end of component');
    return this.buf[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw new ComponentFormatError('LEB128 value too long');
    }
    return result >>> 0;
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.end) throw new ComponentFormatError('unexpected end of component');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  name(): string {
    const n = this.u32();
    return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes(n));
  }
  /** `importname'` / `exportname'`. */
  externName(): string {
    const tag = this.byte();
    if (tag !== 0x00 && tag !== 0x01) throw new ComponentFormatError(`unknown extern name form 0x${tag.toString(16)}`);
    return this.name();
  }
  done(): boolean {
    return this.pos >= this.end;
  }
}

/** Reads a sort (component-level): returns e.g. 'func', or 'core:memory'. */
function readSort(r: Reader): string {
  const b = r.byte();
  if (b === 0x00) {
    const cs = CORE_SORTS[r.byte()];
    if (!cs) throw new ComponentFormatError('unknown core sort');
    return `core:${cs}`;
  }
  const s = ({ 0x01: 'func', 0x02: 'value', 0x03: 'type', 0x04: 'component', 0x05: 'instance' } as Record<number, string>)[b];
  if (!s) throw new ComponentFormatError(`unknown sort 0x${b.toString(16)}`);
  return s;
}

function readOpts(r: Reader): CanonOpts {
  const opts: CanonOpts = { encoding: 'utf8' };
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    const b = r.byte();
    switch (b) {
      case 0x00: opts.encoding = 'utf8'; break;
      case 0x01: opts.encoding = 'utf16'; break;
      case 0x02: opts.encoding = 'latin1+utf16'; break;
      case 0x03: opts.memory = r.u32(); break;
      case 0x04: opts.realloc = r.u32(); break;
      case 0x05: opts.postReturn = r.u32(); break;
      default:
        throw new ComponentFormatError(`unsupported canonical option 0x${b.toString(16)} (async and GC options are not supported)`);
    }
  }
  return opts;
}

function readExternDesc(r: Reader): 'func' | 'instance' | 'type' | 'module' | 'component' | 'value' {
  const b = r.byte();
  switch (b) {
    case 0x00:
      if (r.byte() !== 0x11) throw new ComponentFormatError('bad core module extern desc');
      r.u32();
      return 'module';
    case 0x01: r.u32(); return 'func';
    case 0x02: {
      // valuebound: 0x00 i | 0x01 t
      const k = r.byte();
      if (k === 0x00) r.u32();
      else skipValType(r);
      return 'value';
    }
    case 0x03: {
      const k = r.byte();
      if (k === 0x00) r.u32();
      else if (k !== 0x01) throw new ComponentFormatError('bad type bound');
      return 'type';
    }
    case 0x04: r.u32(); return 'component';
    case 0x05: r.u32(); return 'instance';
    default:
      throw new ComponentFormatError(`unknown extern desc 0x${b.toString(16)}`);
  }
}

function skipValType(r: Reader): void {
  // A valtype is either a primitive (one byte, 0x64..0x7f) or a type index (s33 LEB).
  const b = r.buf[r.pos]!;
  if (b >= 0x64 && b <= 0x7f) r.byte();
  else r.u32();
}

/** True when the bytes start with the component preamble (`\0asm`, version 0x0d, layer 1). */
export function isComponent(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 8 &&
    bytes[0] === 0x00 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d &&
    bytes[6] === 0x01 && bytes[7] === 0x00
  );
}

/** True when the bytes start with a core module preamble. */
export function isCoreModule(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 8 &&
    bytes[0] === 0x00 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d &&
    bytes[4] === 0x01 && bytes[5] === 0x00 && bytes[6] === 0x00 && bytes[7] === 0x00
  );
}

/** Decodes the structure of a (top-level) component. */
export function readComponent(bytes: Uint8Array): ComponentStructure {
  if (!isComponent(bytes)) throw new ComponentFormatError('not a component (bad preamble)');
  const out: ComponentStructure = {
    modules: [],
    coreInstances: [],
    coreFuncs: [],
    coreMemories: [],
    coreTables: [],
    coreGlobals: [],
    funcs: [],
    instances: [],
    types: [],
    imports: [],
    exports: [],
    components: 0,
  };
  const r = new Reader(bytes, 8);
  while (!r.done()) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (end > bytes.length) throw new ComponentFormatError('section extends past the end of the component');
    const s = new Reader(bytes, r.pos, end);
    switch (id) {
      case 0x00: // custom
        break;
      case 0x01: // core module
        out.modules.push(bytes.subarray(r.pos, end));
        break;
      case 0x02: { // core instances
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const k = s.byte();
          if (k === 0x00) {
            const module = s.u32();
            const args: { name: string; instance: number }[] = [];
            const m = s.u32();
            for (let j = 0; j < m; j++) {
              const name = s.name();
              if (s.byte() !== 0x12) throw new ComponentFormatError('core instantiate arg must be an instance');
              args.push({ name, instance: s.u32() });
            }
            out.coreInstances.push({ kind: 'instantiate', module, args });
          } else if (k === 0x01) {
            const exports: { name: string; sort: CoreSort; index: number }[] = [];
            const m = s.u32();
            for (let j = 0; j < m; j++) {
              const name = s.name();
              const sort = CORE_SORTS[s.byte()];
              if (!sort) throw new ComponentFormatError('unknown core sort');
              exports.push({ name, sort, index: s.u32() });
            }
            out.coreInstances.push({ kind: 'exports', exports });
          } else throw new ComponentFormatError(`unknown core instance form 0x${k.toString(16)}`);
        }
        break;
      }
      case 0x03: // core types: counted only where needed (not referenced by the host)
        break;
      case 0x04: // nested component
        out.components++;
        break;
      case 0x05: { // component instances
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const k = s.byte();
          if (k === 0x00) {
            s.u32();
            const m = s.u32();
            for (let j = 0; j < m; j++) {
              s.name();
              readSort(s);
              s.u32();
            }
          } else if (k === 0x01) {
            const m = s.u32();
            for (let j = 0; j < m; j++) {
              s.externName();
              readSort(s);
              s.u32();
            }
          } else throw new ComponentFormatError(`unknown instance form 0x${k.toString(16)}`);
          out.instances.push({ kind: 'other' });
        }
        break;
      }
      case 0x06: { // aliases
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const sort = readSort(s);
          const target = s.byte();
          let instance = -1;
          let name = '';
          if (target === 0x00 || target === 0x01) {
            instance = s.u32();
            name = s.name();
          } else if (target === 0x02) {
            s.u32();
            s.u32();
          } else throw new ComponentFormatError(`unknown alias target 0x${target.toString(16)}`);
          const outer = target === 0x02;
          switch (sort) {
            case 'core:func':
              out.coreFuncs.push(outer ? { kind: 'alias', instance: -1, name: '' } : { kind: 'alias', instance, name });
              break;
            case 'core:memory': out.coreMemories.push({ instance, name }); break;
            case 'core:table': out.coreTables.push({ instance, name }); break;
            case 'core:global': out.coreGlobals.push({ instance, name }); break;
            case 'core:module': out.modules.push(new Uint8Array(0)); break;
            case 'func':
              out.funcs.push(target === 0x00 ? { kind: 'alias', instance, name } : { kind: 'other' });
              break;
            case 'instance': out.instances.push({ kind: 'other' }); break;
            case 'type':
              out.types.push(target === 0x00 ? { kind: 'alias', instance, name } : { kind: 'other' });
              break;
            case 'component': out.components++; break;
            default:
              break;
          }
        }
        break;
      }
      case 0x07: { // types: each entry takes one index
        const n = s.u32();
        for (let i = 0; i < n; i++) out.types.push({ kind: 'other' });
        break;
      }
      case 0x08: { // canon
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const k = s.byte();
          switch (k) {
            case 0x00: {
              if (s.byte() !== 0x00) throw new ComponentFormatError('bad canon lift');
              const coreFunc = s.u32();
              const opts = readOpts(s);
              const type = s.u32();
              out.funcs.push({ kind: 'lift', coreFunc, opts, type });
              break;
            }
            case 0x01: {
              if (s.byte() !== 0x00) throw new ComponentFormatError('bad canon lower');
              const func = s.u32();
              out.coreFuncs.push({ kind: 'lower', func, opts: readOpts(s) });
              break;
            }
            case 0x02: out.coreFuncs.push({ kind: 'resource.new', type: s.u32() }); break;
            case 0x03: out.coreFuncs.push({ kind: 'resource.drop', type: s.u32() }); break;
            case 0x04: out.coreFuncs.push({ kind: 'resource.rep', type: s.u32() }); break;
            default:
              throw new ComponentFormatError(`unsupported canon built-in 0x${k.toString(16)} (async, threads and error-context built-ins are not supported)`);
          }
        }
        break;
      }
      case 0x09:
        throw new ComponentFormatError('component start functions are not supported');
      case 0x0a: { // imports
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const name = s.externName();
          const sort = readExternDesc(s);
          out.imports.push({ name, sort });
          if (sort === 'instance') out.instances.push({ kind: 'import', name });
          else if (sort === 'func') out.funcs.push({ kind: 'import', name });
          else if (sort === 'type') out.types.push({ kind: 'other' });
          else if (sort === 'module') out.modules.push(new Uint8Array(0));
          else if (sort === 'component') out.components++;
        }
        break;
      }
      case 0x0b: { // exports: each export also introduces a new index of its sort
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const name = s.externName();
          const sort = readSort(s);
          const index = s.u32();
          if (s.byte() === 0x01) readExternDesc(s);
          out.exports.push({ name, sort, index });
          if (sort === 'instance') out.instances.push({ kind: 'other' });
          else if (sort === 'func') out.funcs.push(out.funcs[index] ?? { kind: 'other' });
          else if (sort === 'type') out.types.push(out.types[index] ?? { kind: 'other' });
          else if (sort === 'component') out.components++;
        }
        break;
      }
      default:
        throw new ComponentFormatError(`unsupported component section id ${id}`);
    }
    r.pos = end;
  }
  return out;
}

/** One import of a core module. `limits` (in pages) is set for memories. */
export interface CoreImport {
  module: string;
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  limits?: { initial: number; maximum: number | undefined };
}

/** The imports of a core module, read without compiling it. */
export function coreModuleImports(bytes: Uint8Array): CoreImport[] {
  const r = new Reader(bytes, 8);
  const out: CoreImport[] = [];
  while (!r.done()) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (id === 2) {
      const s = new Reader(bytes, r.pos, end);
      const n = s.u32();
      for (let i = 0; i < n; i++) {
        const module = s.name();
        const name = s.name();
        const kind = s.byte();
        switch (kind) {
          case 0x00:
            s.u32();
            out.push({ module, name, kind: 'function' });
            break;
          case 0x01: {
            s.byte();
            const flags = s.byte();
            s.u32();
            if (flags & 1) s.u32();
            out.push({ module, name, kind: 'table' });
            break;
          }
          case 0x02: {
            const flags = s.byte();
            const initial = s.u32();
            const maximum = flags & 1 ? s.u32() : undefined;
            out.push({ module, name, kind: 'memory', limits: { initial, maximum } });
            break;
          }
          case 0x03:
            s.byte();
            s.byte();
            out.push({ module, name, kind: 'global' });
            break;
          case 0x04:
            s.byte();
            s.u32();
            out.push({ module, name, kind: 'tag' });
            break;
          default:
            throw new ComponentFormatError(`unknown import kind 0x${kind.toString(16)} in a core module`);
        }
      }
      return out;
    }
    if (id > 2 && id !== 0) return out;
    r.pos = end;
  }
  return out;
}

/**
 * True when a core module's whole state can be put back from outside: no
 * start function (its effects could differ per instance) and no passive data
 * or element segments (`data.drop`/`elem.drop` on them cannot be undone;
 * active segments are dropped by every instantiation alike). Memory, mutable
 * globals and tables are then the only state, and the host can reset them.
 */
export function canResetState(bytes: Uint8Array): boolean {
  const r = new Reader(bytes, 8);
  while (!r.done()) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (id === 8) return false;
    if (id === 11) {
      const s = new Reader(bytes, r.pos, end);
      const n = s.u32();
      for (let i = 0; i < n; i++) {
        const flags = s.u32();
        if (flags === 1) return false;
        if (flags === 2) s.u32();
        skipConstExpr(s);
        s.bytes(s.u32());
      }
    }
    if (id === 9) {
      const s = new Reader(bytes, r.pos, end);
      const n = s.u32();
      for (let i = 0; i < n; i++) {
        const flags = s.u32();
        if ((flags & 3) === 1) return false;
        if (flags === 2 || flags === 6) s.u32();
        if ((flags & 1) === 0) skipConstExpr(s);
        if (flags & 4) {
          if (flags & 3) s.byte();
          else if (flags !== 4) s.byte();
          const m = s.u32();
          for (let j = 0; j < m; j++) skipConstExpr(s);
        } else {
          if (flags !== 0) s.byte();
          const m = s.u32();
          for (let j = 0; j < m; j++) s.u32();
        }
      }
    }
    r.pos = end;
  }
  return true;
}

function skipConstExpr(s: Reader): void {
  for (;;) {
    const op = s.byte();
    switch (op) {
      case 0x0b:
        return;
      case 0x41: case 0x42: case 0x23: case 0xd2:
        skipSleb(s);
        break;
      case 0x43: s.bytes(4); break;
      case 0x44: s.bytes(8); break;
      case 0xd0: s.byte(); break;
      case 0x6a: case 0x6b: case 0x6c: case 0x7c: case 0x7d: case 0x7e:
        break;
      default:
        throw new ComponentFormatError(`unsupported constant expression opcode 0x${op.toString(16)}`);
    }
  }
}

function skipSleb(s: Reader): void {
  while (s.byte() & 0x80) {
    /* continuation bytes */
  }
}
