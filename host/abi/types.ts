/**
 * Component-model value types, as the canonical ABI needs them. They are
 * produced by the WIT parser from the vendored WASI packages and consumed by
 * the lowering code generator. Names stay in WIT spelling (kebab-case).
 */

/** A resource type, identified by its interface and name. */
export interface ResourceType {
  /** `wasi:io/streams` (no version). */
  readonly iface: string;
  /** `output-stream`. */
  readonly name: string;
}

/** A component-model value type. */
export type ValType =
  | { readonly k: 'bool' | 's8' | 'u8' | 's16' | 'u16' | 's32' | 'u32' | 's64' | 'u64' | 'f32' | 'f64' | 'char' | 'string' }
  | { readonly k: 'list'; readonly elem: ValType }
  | { readonly k: 'record'; readonly fields: readonly { readonly name: string; readonly type: ValType }[] }
  | { readonly k: 'tuple'; readonly types: readonly ValType[] }
  | { readonly k: 'variant'; readonly cases: readonly { readonly name: string; readonly type: ValType | undefined }[] }
  | { readonly k: 'enum'; readonly names: readonly string[] }
  | { readonly k: 'flags'; readonly names: readonly string[] }
  | { readonly k: 'option'; readonly type: ValType }
  | { readonly k: 'result'; readonly ok: ValType | undefined; readonly err: ValType | undefined }
  | { readonly k: 'own' | 'borrow'; readonly resource: ResourceType };

/** A function's component-level signature. */
export interface FuncType {
  readonly params: readonly { readonly name: string; readonly type: ValType }[];
  /** `undefined` for a function with no result. */
  readonly result: ValType | undefined;
}

/** A flattened core wasm value type. */
export type CoreType = 'i32' | 'i64' | 'f32' | 'f64';

/** Host-side representation of a variant value: `{ tag, val }`. */
export interface VariantValue<T = unknown> {
  tag: string;
  val?: T;
}

/** Host-side representation of a `result<T, E>` value. */
export type ResultValue<T = unknown, E = unknown> = { tag: 'ok'; val: T } | { tag: 'err'; val: E };
