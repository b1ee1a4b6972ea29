/** HTTP header lists, and their conversion to and from `wasi:http` fields. */
import { RET, liftString, liftBytes, bytesText, utf8, ptrOf } from "./abi";
import { fieldsEntries, fieldsFromList, fieldsNew, fieldsAppend } from "./wasi/http/types";

/**
 * ASCII case-insensitive comparison. Header names are ASCII tokens; this
 * avoids `String#toLowerCase`, whose Unicode tables would add kilobytes.
 */
export function sameName(a: string, b: string): bool {
  const n = a.length;
  if (n != b.length) return false;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (<u32>(x - 65) < 26) x |= 32;
    if (<u32>(y - 65) < 26) y |= 32;
    if (x != y) return false;
  }
  return true;
}

/** One header line. */
export class Header {
  constructor(public name: string, public value: string) {}
}

/**
 * An ordered list of headers. Names compare case-insensitively; values are
 * kept as text (decoded as UTF-8 from the wire bytes).
 */
export class Headers {
  private list: Header[] = [];

  /** The first value of `name`, or all of its values joined with ", ", or null. */
  get(name: string): string | null {
    let out: string | null = null;
    for (let i = 0, n = this.list.length; i < n; i++) {
      const h = unchecked(this.list[i]);
      if (sameName(h.name, name)) out = out == null ? h.value : out + ", " + h.value;
    }
    return out;
  }

  /** Every value of `name`, in order. */
  getAll(name: string): string[] {
    const out: string[] = [];
    for (let i = 0, n = this.list.length; i < n; i++) {
      const h = unchecked(this.list[i]);
      if (sameName(h.name, name)) out.push(h.value);
    }
    return out;
  }

  /** Whether `name` is present. */
  has(name: string): bool {
    return this.get(name) != null;
  }

  /** Replaces every value of `name` with `value`. */
  set(name: string, value: string): Headers {
    this.delete(name);
    this.list.push(new Header(name, value));
    return this;
  }

  /** Adds a value to `name`, keeping existing ones. */
  append(name: string, value: string): Headers {
    this.list.push(new Header(name, value));
    return this;
  }

  /** Removes every value of `name`. */
  delete(name: string): Headers {
    const kept: Header[] = [];
    for (let i = 0, n = this.list.length; i < n; i++) {
      const h = unchecked(this.list[i]);
      if (!sameName(h.name, name)) kept.push(h);
    }
    this.list = kept;
    return this;
  }

  /** Every header in order (the array is the live list: do not mutate it). */
  entries(): Header[] {
    return this.list;
  }

  /** Number of header lines. */
  get size(): i32 {
    return this.list.length;
  }

  /** @internal Reads a `fields` resource (an incoming request's or response's headers). */
  static fromFields(fields: i32): Headers {
    fieldsEntries(fields, RET);
    const base = load<usize>(RET);
    const count = <i32>load<u32>(RET, 4);
    const h = new Headers();
    for (let i = 0; i < count; i++) {
      const e = base + <usize>(i << 4);
      const value = liftBytes(load<usize>(e, 8), load<u32>(e, 12));
      h.list.push(new Header(liftString(load<usize>(e), load<u32>(e, 4)), bytesText(value)));
    }
    return h;
  }

  /**
   * @internal Creates a new `fields` resource holding these headers. Headers
   * the host refuses (forbidden or malformed) are skipped.
   */
  toFields(): i32 {
    const n = this.list.length;
    const entries = new ArrayBuffer(n << 4);
    const base = ptrOf(entries);
    for (let i = 0; i < n; i++) {
      const h = unchecked(this.list[i]);
      const name = utf8(h.name);
      const value = utf8(h.value);
      const e = base + <usize>(i << 4);
      store<usize>(e, ptrOf(name));
      store<u32>(e, name.byteLength, 4);
      store<usize>(e, ptrOf(value), 8);
      store<u32>(e, value.byteLength, 12);
    }
    fieldsFromList(base, n, RET);
    if (load<u8>(RET) == 0) return load<i32>(RET, 4);
    // One header was refused: add them one by one and skip the bad ones.
    const fields = fieldsNew();
    for (let i = 0; i < n; i++) {
      const e = base + <usize>(i << 4);
      fieldsAppend(fields, load<usize>(e), load<u32>(e, 4), load<usize>(e, 8), load<u32>(e, 12), RET);
    }
    return fields;
  }
}
