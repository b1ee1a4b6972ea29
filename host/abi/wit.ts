/**
 * A small parser for the WIT the host implements (the vendored WASI packages in
 * `wit/deps`). It reads interfaces, type definitions, resources and functions
 * and resolves every named type to a {@link ValType}, so that the canonical ABI
 * glue for any imported function can be generated from its WIT signature
 * instead of being written by hand. Worlds are not needed by the host and are
 * skipped. Items marked `@unstable` are kept: guests built with a feature
 * enabled (componentize-js uses `network-error-code`) import them, and the
 * host links by name, providing what it implements.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FuncType, ResourceType, ValType } from './types.js';

/** One parsed interface, with its types resolved. */
export interface WitInterface {
  /** `wasi:http/types` (no version). */
  readonly name: string;
  /** `0.2.12`. */
  readonly version: string;
  /** Functions keyed by their component import name: `[method]fields.get`, `now`. */
  readonly funcs: ReadonlyMap<string, FuncType>;
  /** Resource names declared in this interface. */
  readonly resources: readonly string[];
}

type TypeExpr =
  | { t: 'name'; name: string }
  | { t: 'list'; elem: TypeExpr }
  | { t: 'option'; type: TypeExpr }
  | { t: 'result'; ok?: TypeExpr; err?: TypeExpr }
  | { t: 'tuple'; types: TypeExpr[] }
  | { t: 'own' | 'borrow'; name: string };

type TypeDef =
  | { d: 'alias'; type: TypeExpr }
  | { d: 'record'; fields: { name: string; type: TypeExpr }[] }
  | { d: 'variant'; cases: { name: string; type?: TypeExpr }[] }
  | { d: 'enum'; names: string[] }
  | { d: 'flags'; names: string[] }
  | { d: 'resource' }
  | { d: 'use'; iface: string; name: string };

interface RawFunc {
  name: string;
  params: { name: string; type: TypeExpr }[];
  result?: TypeExpr;
}

interface RawInterface {
  pkg: string;
  version: string;
  name: string;
  defs: Map<string, TypeDef>;
  funcs: RawFunc[];
}

const PRIMITIVES = new Set(['bool', 's8', 'u8', 's16', 'u16', 's32', 'u32', 's64', 'u64', 'f32', 'f64', 'char', 'string']);

class Lexer {
  private pos = 0;
  private readonly tokens: string[] = [];
  constructor(src: string, private readonly file: string) {
    const re = /\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/|->|[{}()<>,;:=./@*_]|%?[a-zA-Z][a-zA-Z0-9-]*|[0-9]+(?:\.[0-9]+)*(?:-[a-zA-Z0-9.-]+)?(?:\+[a-zA-Z0-9.-]+)?/y;
    let m: RegExpExecArray | null;
    re.lastIndex = 0;
    while (re.lastIndex < src.length) {
      const at = re.lastIndex;
      m = re.exec(src);
      if (!m) throw new Error(`${file}: unexpected character ${JSON.stringify(src[at])} at offset ${at}`);
      const tok = m[0];
      if (/^\s/.test(tok) || tok.startsWith('//') || tok.startsWith('/*')) continue;
      this.tokens.push(tok.startsWith('%') ? tok.slice(1) : tok);
    }
  }
  peek(n = 0): string | undefined {
    return this.tokens[this.pos + n];
  }
  next(): string {
    const t = this.tokens[this.pos++];
    if (t === undefined) throw new Error(`${this.file}: unexpected end of input`);
    return t;
  }
  eat(tok: string): boolean {
    if (this.tokens[this.pos] === tok) {
      this.pos++;
      return true;
    }
    return false;
  }
  expect(tok: string): void {
    const t = this.next();
    if (t !== tok) throw new Error(`${this.file}: expected '${tok}' but found '${t}'`);
  }
  done(): boolean {
    return this.pos >= this.tokens.length;
  }
}

/** Skips `@attr(...)` lists (`@since`, `@unstable`, `@deprecated`); returns true when one was `@unstable`. */
function skipAttributes(lx: Lexer): boolean {
  let unstable = false;
  while (lx.peek() === '@') {
    lx.next();
    const name = lx.next();
    if (name === 'unstable') unstable = true;
    if (lx.eat('(')) {
      let depth = 1;
      while (depth > 0) {
        const t = lx.next();
        if (t === '(') depth++;
        else if (t === ')') depth--;
      }
    }
  }
  return unstable;
}

function parseType(lx: Lexer): TypeExpr {
  const t = lx.next();
  switch (t) {
    case 'list': {
      lx.expect('<');
      const elem = parseType(lx);
      lx.expect('>');
      return { t: 'list', elem };
    }
    case 'option': {
      lx.expect('<');
      const type = parseType(lx);
      lx.expect('>');
      return { t: 'option', type };
    }
    case 'result': {
      if (!lx.eat('<')) return { t: 'result' };
      let ok: TypeExpr | undefined;
      let err: TypeExpr | undefined;
      if (lx.eat('_')) {
        lx.expect(',');
        err = parseType(lx);
      } else {
        ok = parseType(lx);
        if (lx.eat(',')) err = parseType(lx);
      }
      lx.expect('>');
      return { t: 'result', ...(ok ? { ok } : {}), ...(err ? { err } : {}) };
    }
    case 'tuple': {
      lx.expect('<');
      const types: TypeExpr[] = [parseType(lx)];
      while (lx.eat(',')) types.push(parseType(lx));
      lx.expect('>');
      return { t: 'tuple', types };
    }
    case 'own':
    case 'borrow': {
      lx.expect('<');
      const name = lx.next();
      lx.expect('>');
      return { t, name };
    }
    default:
      return { t: 'name', name: t };
  }
}

function parseParams(lx: Lexer): { name: string; type: TypeExpr }[] {
  lx.expect('(');
  const params: { name: string; type: TypeExpr }[] = [];
  while (!lx.eat(')')) {
    const name = lx.next();
    lx.expect(':');
    params.push({ name, type: parseType(lx) });
    lx.eat(',');
  }
  return params;
}

function parseFuncSig(lx: Lexer, name: string): RawFunc {
  lx.expect('func');
  const params = parseParams(lx);
  let result: TypeExpr | undefined;
  if (lx.eat('->')) result = parseType(lx);
  lx.expect(';');
  return { name, params, ...(result ? { result } : {}) };
}

function parseUsePath(lx: Lexer, pkg: string, version: string): string {
  // `streams` | `wasi:io/streams` | `wasi:io/streams@0.2.12`
  let first = lx.next();
  if (lx.eat(':')) {
    first = `${first}:${lx.next()}`;
    lx.expect('/');
    const iface = lx.next();
    if (lx.eat('@')) lx.next();
    return `${first}/${iface}`;
  }
  void version;
  return `${pkg}/${first}`;
}

function parseInterface(lx: Lexer, pkg: string, version: string, name: string): RawInterface {
  const iface: RawInterface = { pkg, version, name: `${pkg}/${name}`, defs: new Map(), funcs: [] };
  lx.expect('{');
  while (!lx.eat('}')) {
    skipAttributes(lx);
    const kw = lx.next();
    switch (kw) {
      case 'use': {
        const from = parseUsePath(lx, pkg, version);
        lx.expect('.');
        lx.expect('{');
        while (!lx.eat('}')) {
          const n = lx.next();
          const local = lx.eat('as') ? lx.next() : n;
          iface.defs.set(local, { d: 'use', iface: from, name: n });
          lx.eat(',');
        }
        lx.expect(';');
        break;
      }
      case 'type': {
        const n = lx.next();
        lx.expect('=');
        const type = parseType(lx);
        lx.expect(';');
        iface.defs.set(n, { d: 'alias', type });
        break;
      }
      case 'record': {
        const n = lx.next();
        lx.expect('{');
        const fields: { name: string; type: TypeExpr }[] = [];
        while (!lx.eat('}')) {
          skipAttributes(lx);
          const f = lx.next();
          lx.expect(':');
          fields.push({ name: f, type: parseType(lx) });
          lx.eat(',');
        }
        iface.defs.set(n, { d: 'record', fields });
        break;
      }
      case 'variant': {
        const n = lx.next();
        lx.expect('{');
        const cases: { name: string; type?: TypeExpr }[] = [];
        while (!lx.eat('}')) {
          skipAttributes(lx);
          const c = lx.next();
          if (lx.eat('(')) {
            cases.push({ name: c, type: parseType(lx) });
            lx.expect(')');
          } else cases.push({ name: c });
          lx.eat(',');
        }
        iface.defs.set(n, { d: 'variant', cases });
        break;
      }
      case 'enum':
      case 'flags': {
        const n = lx.next();
        lx.expect('{');
        const names: string[] = [];
        while (!lx.eat('}')) {
          skipAttributes(lx);
          names.push(lx.next());
          lx.eat(',');
        }
        iface.defs.set(n, { d: kw, names });
        break;
      }
      case 'resource': {
        const r = lx.next();
        iface.defs.set(r, { d: 'resource' });
        if (lx.eat(';')) break;
        lx.expect('{');
        while (!lx.eat('}')) {
          skipAttributes(lx);
          if (lx.eat('constructor')) {
            const params = parseParams(lx);
            lx.expect(';');
            iface.funcs.push({ name: `[constructor]${r}`, params, result: { t: 'own', name: r } });
            continue;
          }
          const m = lx.next();
          lx.expect(':');
          const isStatic = lx.eat('static');
          const f = parseFuncSig(lx, isStatic ? `[static]${r}.${m}` : `[method]${r}.${m}`);
          if (!isStatic) f.params.unshift({ name: 'self', type: { t: 'borrow', name: r } });
          iface.funcs.push(f);
        }
        break;
      }
      default: {
        // `name: func(...)`
        lx.expect(':');
        const f = parseFuncSig(lx, kw);
        iface.funcs.push(f);
      }
    }
  }
  return iface;
}

function skipBlock(lx: Lexer): void {
  lx.expect('{');
  let depth = 1;
  while (depth > 0) {
    const t = lx.next();
    if (t === '{') depth++;
    else if (t === '}') depth--;
  }
}

function parseFile(src: string, file: string): RawInterface[] {
  const lx = new Lexer(src, file);
  lx.expect('package');
  let pkg = lx.next();
  lx.expect(':');
  pkg = `${pkg}:${lx.next()}`;
  lx.expect('@');
  const version = lx.next();
  lx.expect(';');
  const out: RawInterface[] = [];
  while (!lx.done()) {
    skipAttributes(lx);
    const kw = lx.next();
    if (kw === 'interface') {
      const name = lx.next();
      const iface = parseInterface(lx, pkg, version, name);
      out.push(iface);
    } else if (kw === 'world') {
      lx.next();
      skipBlock(lx);
    } else {
      throw new Error(`${file}: unexpected '${kw}' at top level`);
    }
  }
  return out;
}

/**
 * The resolved set of interfaces the host knows, keyed by unversioned name
 * (`wasi:io/streams`). Built once per process from the vendored WIT.
 */
export class WitRegistry {
  private readonly raw = new Map<string, RawInterface>();
  private readonly resolved = new Map<string, WitInterface>();

  /** Parses every `*.wit` file under `dir` (recursively). */
  static fromDirectory(dir: string): WitRegistry {
    const reg = new WitRegistry();
    const walk = (d: string): void => {
      for (const entry of readdirSync(d).sort()) {
        const p = join(d, entry);
        if (statSync(p).isDirectory()) walk(p);
        else if (entry.endsWith('.wit')) reg.addSource(readFileSync(p, 'utf8'), p);
      }
    };
    walk(dir);
    return reg;
  }

  /** Adds the interfaces of one WIT source file. Files with no WASI package (like the guest world) are ignored. */
  addSource(src: string, file = '<wit>'): void {
    if (!/^\s*(\/\/[^\n]*\n\s*)*package\s+wasi:/.test(src)) return;
    for (const iface of parseFile(src, file)) this.raw.set(iface.name, iface);
  }

  /** The interface with this unversioned name, or undefined. */
  get(name: string): WitInterface | undefined {
    const done = this.resolved.get(name);
    if (done) return done;
    const raw = this.raw.get(name);
    if (!raw) return undefined;
    const funcs = new Map<string, FuncType>();
    for (const f of raw.funcs) {
      funcs.set(f.name, {
        params: f.params.map((p) => ({ name: p.name, type: this.resolve(raw, p.type) })),
        result: f.result ? this.resolve(raw, f.result) : undefined,
      });
    }
    const resources = [...raw.defs].filter(([, d]) => d.d === 'resource').map(([n]) => n);
    const iface: WitInterface = { name, version: raw.version, funcs, resources };
    this.resolved.set(name, iface);
    return iface;
  }

  /** Every interface name known. */
  names(): string[] {
    return [...this.raw.keys()];
  }

  /** Resolves a type name as seen from `raw` to a resource, following `use` and aliases. */
  private resourceOf(raw: RawInterface, name: string): ResourceType {
    const t = this.named(raw, name);
    if (t.k !== 'own') throw new Error(`${raw.name}: '${name}' is not a resource`);
    return t.resource;
  }

  private named(raw: RawInterface, name: string): ValType {
    if (PRIMITIVES.has(name)) return { k: name } as ValType;
    const def = raw.defs.get(name);
    if (!def) throw new Error(`${raw.name}: unknown type '${name}'`);
    switch (def.d) {
      case 'use': {
        const from = this.raw.get(def.iface);
        if (!from) throw new Error(`${raw.name}: uses unknown interface '${def.iface}'`);
        return this.named(from, def.name);
      }
      case 'alias':
        return this.resolve(raw, def.type);
      case 'resource':
        // A bare resource name in a signature means `own<R>`.
        return { k: 'own', resource: { iface: raw.name, name } };
      case 'record':
        return { k: 'record', fields: def.fields.map((f) => ({ name: f.name, type: this.resolve(raw, f.type) })) };
      case 'variant':
        return {
          k: 'variant',
          cases: def.cases.map((c) => ({ name: c.name, type: c.type ? this.resolve(raw, c.type) : undefined })),
        };
      case 'enum':
        return { k: 'enum', names: def.names };
      case 'flags':
        return { k: 'flags', names: def.names };
    }
  }

  private resolve(raw: RawInterface, t: TypeExpr): ValType {
    switch (t.t) {
      case 'name':
        return this.named(raw, t.name);
      case 'list':
        return { k: 'list', elem: this.resolve(raw, t.elem) };
      case 'option':
        return { k: 'option', type: this.resolve(raw, t.type) };
      case 'result':
        return {
          k: 'result',
          ok: t.ok ? this.resolve(raw, t.ok) : undefined,
          err: t.err ? this.resolve(raw, t.err) : undefined,
        };
      case 'tuple':
        return { k: 'tuple', types: t.types.map((x) => this.resolve(raw, x)) };
      case 'own':
        return { k: 'own', resource: this.resourceOf(raw, t.name) };
      case 'borrow':
        return { k: 'borrow', resource: this.resourceOf(raw, t.name) };
    }
  }
}
