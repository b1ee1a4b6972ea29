/**
 * Just enough of the core WebAssembly binary format to prepare a command
 * module for snapshots (list sections, read the export and global sections,
 * decode one tiny function body, append exports, empty the data section) and
 * for the deploy-time work of host/compile (import kinds, custom section
 * names, memory limits). Everything else is copied byte for byte.
 */

/** One top-level section: its id and its payload (a view into the module). */
export interface Section {
  id: number;
  payload: Uint8Array;
}

/** Section ids used here. */
export const SectionId = { import: 2, memory: 5, global: 6, export: 7, code: 10, data: 11, dataCount: 12 } as const;

/** Export kinds. */
export const ExternKind = { func: 0, table: 1, memory: 2, global: 3 } as const;

/** A cursor over bytes with LEB128 readers. */
export class ByteReader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  byte(): number {
    if (this.offset >= this.bytes.length) throw new RangeError('wasm: unexpected end');
    return this.bytes[this.offset++]!;
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new RangeError('wasm: LEB128 too long');
    }
  }

  /** Skips a signed LEB128 of any width. */
  skipLeb(): void {
    while (this.byte() & 0x80);
  }

  name(): string {
    const len = this.u32();
    const s = new TextDecoder().decode(this.bytes.subarray(this.offset, this.offset + len));
    this.offset += len;
    return s;
  }
}

/** Splits a module into its sections. */
export function readSections(module: Uint8Array): Section[] {
  if (module.length < 8 || module[0] !== 0 || module[1] !== 0x61 || module[2] !== 0x73 || module[3] !== 0x6d || module[4] !== 1) {
    throw new TypeError('wasm: not a core module');
  }
  const r = new ByteReader(module);
  r.offset = 8;
  const sections: Section[] = [];
  while (!r.done) {
    const id = r.byte();
    const size = r.u32();
    sections.push({ id, payload: module.subarray(r.offset, r.offset + size) });
    r.offset += size;
  }
  return sections;
}

/** Unsigned LEB128 encoding. */
export function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) b |= 0x80;
    out.push(b);
  } while (value !== 0);
  return out;
}

/** Reassembles a module from sections. */
export function writeSections(sections: readonly Section[]): Uint8Array<ArrayBuffer> {
  const header = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
  const parts: Uint8Array[] = [new Uint8Array(header)];
  for (const s of sections) {
    parts.push(new Uint8Array([s.id, ...leb(s.payload.length)]), s.payload);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An export entry. */
export interface ExportEntry {
  name: string;
  kind: number;
  index: number;
}

/** Reads the export section's entries. */
export function readExports(payload: Uint8Array): ExportEntry[] {
  const r = new ByteReader(payload);
  const n = r.u32();
  const out: ExportEntry[] = [];
  for (let i = 0; i < n; i++) out.push({ name: r.name(), kind: r.byte(), index: r.u32() });
  return out;
}

/** Encodes an export section. */
export function writeExports(entries: readonly ExportEntry[]): Uint8Array {
  const encoder = new TextEncoder();
  const bytes: number[] = [...leb(entries.length)];
  for (const e of entries) {
    const name = encoder.encode(e.name);
    bytes.push(...leb(name.length), ...name, e.kind, ...leb(e.index));
  }
  return new Uint8Array(bytes);
}

/** One import: its module and name, and its kind ({@link ExternKind}). */
export interface ImportEntry {
  module: string;
  name: string;
  kind: number;
}

/** Reads the import section (none when `payload` is undefined). */
export function readImports(payload: Uint8Array | undefined): ImportEntry[] {
  const out: ImportEntry[] = [];
  if (payload === undefined) return out;
  const r = new ByteReader(payload);
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    const module = r.name();
    const name = r.name();
    out.push({ module, name, kind: skipImportDesc(r) });
  }
  return out;
}

function skipImportDesc(r: ByteReader): number {
  const kind = r.byte();
  if (kind === ExternKind.func) {
    r.u32();
  } else if (kind === ExternKind.table) {
    r.byte();
    const flags = r.u32();
    r.u32();
    if (flags & 1) r.u32();
  } else if (kind === ExternKind.memory) {
    const flags = r.u32();
    r.u32();
    if (flags & 1) r.u32();
  } else if (kind === ExternKind.global) {
    r.byte();
    r.byte();
  } else {
    throw new TypeError(`wasm: unknown import kind ${kind}`);
  }
  return kind;
}

/** The name of a custom section (id 0), from its payload. */
export function customSectionName(payload: Uint8Array): string {
  return new ByteReader(payload).name();
}

/** Counts imported functions and globals. */
export function countImports(payload: Uint8Array | undefined): { funcs: number; globals: number } {
  const imports = readImports(payload);
  return { funcs: imports.filter((i) => i.kind === ExternKind.func).length, globals: imports.filter((i) => i.kind === ExternKind.global).length };
}

/** Reads the mutability of each defined global (true = mutable). */
export function readGlobalMutability(payload: Uint8Array | undefined): boolean[] {
  if (payload === undefined) return [];
  const r = new ByteReader(payload);
  const n = r.u32();
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) {
    r.byte(); // value type
    out.push(r.byte() === 1);
    // Constant expression: skip instructions until `end` (0x0b). Only the
    // simple constants and global.get occur in an initializer.
    for (;;) {
      const op = r.byte();
      if (op === 0x0b) break;
      if (op === 0x41 || op === 0x42 || op === 0x23 || op === 0xd2) r.skipLeb();
      else if (op === 0x43) r.offset += 4;
      else if (op === 0x44) r.offset += 8;
      else if (op === 0xd0) r.byte();
      else throw new TypeError(`wasm: unsupported global initializer opcode ${op}`);
    }
  }
  return out;
}

/** The body (locals and code) of defined function `index` (not counting imports). */
export function functionBody(codePayload: Uint8Array, index: number): Uint8Array {
  const r = new ByteReader(codePayload);
  const n = r.u32();
  if (index >= n) throw new RangeError('wasm: function index out of range');
  for (let i = 0; i < index; i++) {
    const skip = r.u32();
    r.offset += skip;
  }
  const size = r.u32();
  return codePayload.subarray(r.offset, r.offset + size);
}

/**
 * The functions called by a straight-line body made only of constants,
 * global.set, call, drop, return, unreachable and end (what Go's `_start`
 * is), in order; undefined if the body contains anything else.
 */
export function straightLineCalls(body: Uint8Array): number[] | undefined {
  const r = new ByteReader(body);
  const localGroups = r.u32();
  for (let i = 0; i < localGroups; i++) {
    r.u32();
    r.byte();
  }
  const calls: number[] = [];
  while (!r.done) {
    const op = r.byte();
    if (op === 0x10) calls.push(r.u32());
    else if (op === 0x41 || op === 0x42) r.skipLeb();
    else if (op === 0x24) r.u32();
    else if (op === 0xa7 || op === 0x1a || op === 0x0f || op === 0x00 || op === 0x0b) continue;
    else return undefined;
  }
  return calls;
}
