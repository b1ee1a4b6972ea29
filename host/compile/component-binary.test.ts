import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { coreModuleImports, isComponent, isCoreModule, readComponent } from './component-binary.js';
import { hasStateSections } from './link-plan.js';

const hello = new Uint8Array(readFileSync('components/hello/hello.wasm'));

describe('readComponent', () => {
  it('finds the core modules, core instances, imports and exports of a wit-component output', () => {
    const c = readComponent(hello);
    expect(c.modules.length).toBe(3);
    expect(isCoreModule(c.modules[0]!)).toBe(true);
    expect(c.imports.map((i) => i.name)).toEqual(['wasi:io/error@0.2.12', 'wasi:io/streams@0.2.12', 'wasi:http/types@0.2.12']);
    expect(c.exports.map((e) => e.name)).toEqual(['wasi:http/incoming-handler@0.2.12']);
    expect(c.coreFuncs.some((f) => f.kind === 'lower')).toBe(true);
    expect(c.coreFuncs.some((f) => f.kind === 'resource.drop')).toBe(true);
    expect(c.coreFuncs).toContainEqual({ kind: 'alias', instance: expect.any(Number), name: 'wasi:http/incoming-handler@0.2.12#handle' });
  });

  it('tells components, core modules and garbage apart', () => {
    expect(isComponent(hello)).toBe(true);
    expect(isCoreModule(hello)).toBe(false);
    expect(() => readComponent(new Uint8Array([1, 2, 3]))).toThrow(/not a component/);
  });

  it('reports a truncated component', () => {
    expect(() => readComponent(hello.subarray(0, 200))).toThrow();
  });

  it('reads core imports with memory limits without compiling', () => {
    const main = readComponent(hello).modules[0]!;
    expect(coreModuleImports(main)).toContainEqual({ module: 'wasi:http/types@0.2.12', name: '[constructor]fields', kind: 'function' });
  });

  it('sees state in a module with a memory and none in the shim module', () => {
    const c = readComponent(hello);
    expect(hasStateSections(c.modules[0]!)).toBe(true);
    expect(hasStateSections(c.modules[1]!)).toBe(false);
  });
});
