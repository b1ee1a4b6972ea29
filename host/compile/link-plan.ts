/**
 * The link plan: everything about how to instantiate a component that can be
 * decided before the first request (wasmtime's `InstancePre`, as data).
 *
 * From the component's structure it resolves every core import to a host
 * function (lowered once, shared by all instances), finds the entry point,
 * groups canonical options into slots, and splits core instances into
 * *static* ones (stateless shims, created once per prepared component) and
 * *dynamic* ones (anything with memory or globals, created fresh per request).
 * For a typical guest that leaves exactly one `new WebAssembly.Instance` per
 * request.
 */
import { MicronError } from '../errors.js';
import type { WitRegistry } from '../abi/wit.js';
import type { ComponentStructure, CanonOpts, CoreExportAlias } from './component-binary.js';
import { parseInterfaceName, type HostInterfaces } from '../wasi/imports.js';
import type { FuncType, ResourceType } from '../abi/types.js';
import type { HostFn, StringEncoding } from '../abi/canon.js';
import { ExternKind, readImports, readSections, SectionId } from '../wasi/preview1/core-module.js';

/** A core func the host provides. */
export type HostCoreFunc =
  | { kind: 'lower'; iface: string; func: string; type: FuncType; impl: HostFn; slot: number }
  | { kind: 'drop'; resource: ResourceType };

/** How to find one core item at instantiation time. */
export type CoreRef = { kind: 'host'; index: number } | { kind: 'export'; instance: number; name: string };

/** One step of instantiation, in component order. */
export type InstanceStep =
  | { kind: 'instantiate'; index: number; module: number; args: { name: string; instance: number }[]; dynamic: boolean }
  | { kind: 'exports'; index: number; exports: { name: string; ref: CoreRef }[]; dynamic: boolean };

/** A canonical-options slot: where its memory and realloc come from. */
export interface SlotPlan {
  memory: CoreExportAlias | undefined;
  realloc: CoreExportAlias | undefined;
  encoding: StringEncoding;
}

/** What a request calls. */
export interface EntryPlan {
  /** `wasi:http/incoming-handler@0.2.x`. */
  export: string;
  /** The core instance and export name of the lifted core function. */
  instance: number;
  name: string;
}

/** The result of planning a component. */
export interface LinkPlan {
  hostFuncs: HostCoreFunc[];
  /** core func index → where to get it. */
  coreFuncs: CoreRef[];
  steps: InstanceStep[];
  slots: SlotPlan[];
  entry: EntryPlan;
  /** Component imports (versioned names), for the API. */
  imports: string[];
  /** Component exports, for the API. */
  exports: string[];
  /** Core module indices instantiated per request. */
  dynamicModules: number[];
  /** Versioned `module#field` names of blocking imports per module index. */
  blockingImports: Map<number, string[]>;
}

const ENTRY_RE = /^wasi:http\/incoming-handler@0\.2\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/**
 * Plans a component. Throws `MicronError('unsupported_imports' | 'unsupported_exports' | 'invalid_component')`.
 */
export function planComponent(
  c: ComponentStructure,
  wit: WitRegistry,
  host: HostInterfaces,
  blocking: ReadonlySet<string>,
  moduleImports: (module: number) => { module: string; name: string; kind: string }[],
): LinkPlan {
  const unsupported: string[] = [];
  const importName = (instance: number): string | undefined => {
    const def = c.instances[instance];
    return def?.kind === 'import' ? def.name : undefined;
  };

  // Canonical option slots, deduplicated.
  const slots: SlotPlan[] = [];
  const slotKeys = new Map<string, number>();
  const aliasOfCoreFunc = (i: number | undefined): CoreExportAlias | undefined => {
    if (i === undefined) return undefined;
    const d = c.coreFuncs[i];
    if (d?.kind !== 'alias') throw new MicronError('invalid_component', `canonical option refers to core func ${i}, which is not an export of a core instance`);
    return { instance: d.instance, name: d.name };
  };
  const slotFor = (opts: CanonOpts): number => {
    const key = `${opts.memory ?? ''}/${opts.realloc ?? ''}/${opts.encoding}`;
    let s = slotKeys.get(key);
    if (s === undefined) {
      s = slots.length;
      slots.push({
        memory: opts.memory === undefined ? undefined : c.coreMemories[opts.memory],
        realloc: aliasOfCoreFunc(opts.realloc),
        encoding: opts.encoding,
      });
      slotKeys.set(key, s);
    }
    return s;
  };

  const hostFuncs: HostCoreFunc[] = [];
  /** Imported interface → the functions of it that the host lacks (or the whole interface). */
  const missingFuncs = new Map<string, string[]>();
  const coreFuncs: CoreRef[] = c.coreFuncs.map((d, i): CoreRef => {
    switch (d.kind) {
      case 'alias':
        return { kind: 'export', instance: d.instance, name: d.name };
      case 'lower': {
        const f = c.funcs[d.func];
        const inst = f?.kind === 'alias' ? importName(f.instance) : undefined;
        if (!f || f.kind !== 'alias' || !inst) {
          unsupported.push(`core func ${i} lowers a function that is not an imported interface member`);
          return { kind: 'host', index: -1 };
        }
        const parsed = parseInterfaceName(inst);
        const iface = parsed ? wit.get(parsed.name) : undefined;
        const type = iface?.funcs.get(f.name);
        const impl = parsed ? host.get(parsed.name)?.[f.name] : undefined;
        if (!parsed || !type || !impl) {
          const names = missingFuncs.get(inst) ?? [];
          if (!names.includes(f.name)) names.push(f.name);
          missingFuncs.set(inst, names);
          return { kind: 'host', index: -1 };
        }
        hostFuncs.push({ kind: 'lower', iface: parsed.name, func: f.name, type, impl, slot: slotFor(d.opts) });
        return { kind: 'host', index: hostFuncs.length - 1 };
      }
      case 'resource.drop': {
        const t = c.types[d.type];
        const inst = t?.kind === 'alias' ? importName(t.instance) : undefined;
        const parsed = inst ? parseInterfaceName(inst) : undefined;
        if (!t || t.kind !== 'alias' || !parsed || !wit.get(parsed.name)?.resources.includes(t.name) || !host.has(parsed.name)) {
          unsupported.push(`resource.drop of ${inst ?? 'a component-defined resource'}${t?.kind === 'alias' ? `#${t.name}` : ''}`);
          return { kind: 'host', index: -1 };
        }
        hostFuncs.push({ kind: 'drop', resource: { iface: parsed.name, name: t.name } });
        return { kind: 'host', index: hostFuncs.length - 1 };
      }
      default:
        unsupported.push(`canon ${d.kind} (components that define their own resources are not supported yet)`);
        return { kind: 'host', index: -1 };
    }
  });

  // Imports the component declares at the top level, checked by interface too.
  for (const imp of c.imports) {
    if (imp.sort !== 'instance') {
      unsupported.push(`${imp.name} (only interface imports are supported)`);
      continue;
    }
    const parsed = parseInterfaceName(imp.name);
    if (!parsed || !host.has(parsed.name)) unsupported.push(imp.name);
  }
  if (unsupported.length || missingFuncs.size) {
    // An interface with missing functions is named once, with them: `wasi:foo/bar@0.2.0 (f, g)`.
    const list = [...new Set(unsupported)].filter((u) => !missingFuncs.has(u));
    for (const [iface, names] of missingFuncs) list.push(`${iface} (${names.join(', ')})`);
    throw new MicronError('unsupported_imports', `the component imports what Micron does not provide: ${list.join(', ')}`);
  }

  // Entry point.
  const entryExport = c.exports.find((e) => ENTRY_RE.test(e.name));
  if (!entryExport) {
    throw new MicronError(
      'unsupported_exports',
      `the component exports ${c.exports.map((e) => e.name).join(', ') || 'nothing'}; Micron needs wasi:http/incoming-handler@0.2.x`,
    );
  }
  const entryCore = c.coreFuncs.findIndex((d) => d.kind === 'alias' && d.name === `${entryExport.name}#handle`);
  const entryDef = c.coreFuncs[entryCore];
  if (!entryDef || entryDef.kind !== 'alias' || !c.funcs.some((f) => f.kind === 'lift' && f.coreFunc === entryCore)) {
    throw new MicronError('unsupported_exports', `cannot find the core function behind ${entryExport.name}#handle`);
  }
  const entry: EntryPlan = { export: entryExport.name, instance: entryDef.instance, name: entryDef.name };

  // Static vs dynamic instances.
  const n = c.coreInstances.length;
  const dynamic = new Array<boolean>(n).fill(false);
  const moduleIsStateful = (m: number): boolean => {
    const bytes = c.modules[m];
    if (!bytes || bytes.length === 0) return true;
    return hasStateSections(bytes);
  };
  const refInstance = (ref: CoreRef): number | undefined => (ref.kind === 'export' ? ref.instance : undefined);
  const exportRefs = (i: number): { name: string; ref: CoreRef }[] => {
    const d = c.coreInstances[i]!;
    if (d.kind !== 'exports') return [];
    return d.exports.map((e) => {
      switch (e.sort) {
        case 'func':
          return { name: e.name, ref: coreFuncs[e.index]! };
        case 'memory': {
          const a = c.coreMemories[e.index]!;
          return { name: e.name, ref: { kind: 'export', instance: a.instance, name: a.name } as CoreRef };
        }
        case 'table': {
          const a = c.coreTables[e.index]!;
          return { name: e.name, ref: { kind: 'export', instance: a.instance, name: a.name } as CoreRef };
        }
        case 'global': {
          const a = c.coreGlobals[e.index]!;
          return { name: e.name, ref: { kind: 'export', instance: a.instance, name: a.name } as CoreRef };
        }
        default:
          throw new MicronError('invalid_component', `core instance exports a ${e.sort}, which is not supported`);
      }
    });
  };
  const refs = c.coreInstances.map((_, i) => exportRefs(i));
  const stateSorts = new Set(['table', 'memory', 'global']);
  for (let i = 0; i < n; i++) {
    const d = c.coreInstances[i]!;
    if (d.kind === 'instantiate' && moduleIsStateful(d.module)) dynamic[i] = true;
  }
  // Propagate: anything fed by a dynamic instance is dynamic; and a table,
  // memory or global that a dynamic instantiation imports (and may write, as
  // wit-component's fixup module fills the shim's table) must be fresh per
  // request too, along with whatever owns it.
  for (let changed = true; changed; ) {
    changed = false;
    const mark = (x: number | undefined): void => {
      if (x !== undefined && !dynamic[x]) {
        dynamic[x] = true;
        changed = true;
      }
    };
    for (let i = 0; i < n; i++) {
      const d = c.coreInstances[i]!;
      const deps = d.kind === 'instantiate' ? d.args.map((a) => a.instance) : refs[i]!.map((r) => refInstance(r.ref)).filter((x): x is number => x !== undefined);
      if (!dynamic[i] && deps.some((x) => dynamic[x])) mark(i);
      if (!dynamic[i] || d.kind !== 'instantiate') continue;
      const imports = moduleImports(d.module);
      for (const a of d.args) {
        const src = c.coreInstances[a.instance]!;
        const stateful = imports.some((imp) => imp.module === a.name && stateSorts.has(imp.kind));
        if (!stateful) continue;
        if (src.kind === 'instantiate') mark(a.instance);
        else {
          mark(a.instance);
          const ex = (src.kind === 'exports' ? src.exports : []).filter((e) => stateSorts.has(e.sort));
          for (const e of ex) {
            const r = refs[a.instance]!.find((x) => x.name === e.name);
            if (r) mark(refInstance(r.ref));
          }
        }
      }
    }
  }

  const steps: InstanceStep[] = c.coreInstances.map((d, i): InstanceStep =>
    d.kind === 'instantiate'
      ? { kind: 'instantiate', index: i, module: d.module, args: d.args, dynamic: dynamic[i]! }
      : { kind: 'exports', index: i, exports: refs[i]!, dynamic: dynamic[i]! },
  );

  const dynamicModules = [...new Set(steps.filter((s) => s.kind === 'instantiate' && s.dynamic).map((s) => (s as { module: number }).module))];

  // Blocking imports per module, with their versioned core names.
  const blockingImports = new Map<number, string[]>();
  for (let m = 0; m < c.modules.length; m++) {
    if (!c.modules[m]?.length) continue;
    const list: string[] = [];
    for (const imp of moduleImports(m)) {
      if (imp.kind !== 'function') continue;
      const parsed = parseInterfaceName(imp.module);
      if (parsed && blocking.has(`${parsed.name}#${imp.name}`)) list.push(`${imp.module}.${imp.name}`);
    }
    if (list.length) blockingImports.set(m, list);
  }

  return {
    hostFuncs,
    coreFuncs,
    steps,
    slots,
    entry,
    imports: c.imports.map((i) => i.name),
    exports: c.exports.map((e) => e.name),
    dynamicModules,
    blockingImports,
  };
}

/** True when a core module defines a memory, globals or a start function: state that must be fresh per request. */
export function hasStateSections(bytes: Uint8Array): boolean {
  for (const { id, payload } of readSections(bytes)) {
    if (id === 5 || id === 6 || id === 8 || id === 11) return true; // memory, global, start, data
    // Imported memories or globals are state too.
    if (id === SectionId.import && readImports(payload).some((i) => i.kind === ExternKind.memory || i.kind === ExternKind.global)) return true;
  }
  return false;
}
