/**
 * A small JSON value type with a parser and a serializer (AssemblyScript has
 * no built-in JSON). Linked only into functions that use it.
 */

/** The kind of a {@link JsonValue}. */
export enum JsonKind { Null, Bool, Number, String, Array, Object }

/** Nesting deeper than this is a parse error (it would exhaust the stack). */
const MAX_DEPTH = 64;

/** A JSON value: null, boolean, number, string, array or object (insertion-ordered). */
export class JsonValue {
  /** Which of the fields below is meaningful. */
  kind: JsonKind = JsonKind.Null;
  /** For `Bool`. */
  bool: bool = false;
  /** For `String`: the value; for `Number`: its JSON text (kept verbatim from the input). */
  str: string = "";
  /** Array items, or object values. */
  items: JsonValue[] = [];
  /** Object keys (parallel to `items`). */
  keys: string[] = [];

  /** `null`. */
  static ofNull(): JsonValue { return new JsonValue(); }
  /** A boolean. */
  static ofBool(b: bool): JsonValue { const v = new JsonValue(); v.kind = JsonKind.Bool; v.bool = b; return v; }
  /** A number (NaN and infinities become `null` when serialized). */
  static ofNumber(n: f64): JsonValue { return JsonValue.numberText(numberText(n)); }
  /** An integer (cheaper than `ofNumber`: no floating-point formatting is linked). */
  static ofInteger(n: i64): JsonValue { return JsonValue.numberText(n.toString()); }
  /** @internal A number from valid JSON number text. */
  static numberText(text: string): JsonValue { const v = new JsonValue(); v.kind = JsonKind.Number; v.str = text; return v; }
  /** A string. */
  static ofString(s: string): JsonValue { const v = new JsonValue(); v.kind = JsonKind.String; v.str = s; return v; }
  /** An empty array. */
  static newArray(): JsonValue { const v = new JsonValue(); v.kind = JsonKind.Array; return v; }
  /** An empty object. */
  static newObject(): JsonValue { const v = new JsonValue(); v.kind = JsonKind.Object; return v; }

  /** True for `null`. */
  get isNull(): bool { return this.kind == JsonKind.Null; }
  /** True for an object. */
  get isObject(): bool { return this.kind == JsonKind.Object; }
  /** True for an array. */
  get isArray(): bool { return this.kind == JsonKind.Array; }
  /** True for a string. */
  get isString(): bool { return this.kind == JsonKind.String; }
  /** True for a number. */
  get isNumber(): bool { return this.kind == JsonKind.Number; }
  /** True for a boolean. */
  get isBool(): bool { return this.kind == JsonKind.Bool; }

  /**
   * The value of a number (NaN for other kinds). Numbers are kept as their
   * JSON text, so echoing parsed JSON links no float parsing or formatting.
   */
  get num(): f64 { return this.kind == JsonKind.Number ? parseFloat(this.str) : NaN; }

  /** Items of an array or members of an object. */
  get length(): i32 { return this.items.length; }

  /** An object member, or null (also when this is not an object). */
  get(key: string): JsonValue | null {
    if (this.kind != JsonKind.Object) return null;
    for (let i = this.keys.length - 1; i >= 0; i--) if (unchecked(this.keys[i]) == key) return unchecked(this.items[i]);
    return null;
  }

  /** An array item, or null. */
  at(index: i32): JsonValue | null {
    return this.kind == JsonKind.Array && index >= 0 && index < this.items.length ? unchecked(this.items[index]) : null;
  }

  /** Sets an object member (replacing an existing one). */
  set(key: string, value: JsonValue): JsonValue {
    for (let i = 0; i < this.keys.length; i++) {
      if (unchecked(this.keys[i]) == key) {
        unchecked((this.items[i] = value));
        return this;
      }
    }
    this.keys.push(key);
    this.items.push(value);
    return this;
  }

  /** Appends an array item. */
  push(value: JsonValue): JsonValue {
    this.items.push(value);
    return this;
  }

  /** Serializes to compact JSON. */
  toString(): string {
    const parts: string[] = [];
    this.writeTo(parts);
    return parts.join("");
  }

  /** Appends the serialized pieces (joined once at the end: no quadratic concatenation). */
  private writeTo(parts: string[]): void {
    switch (this.kind) {
      case JsonKind.Bool: parts.push(this.bool ? "true" : "false"); break;
      case JsonKind.Number: parts.push(this.str); break;
      case JsonKind.String: parts.push(jsonQuote(this.str)); break;
      case JsonKind.Array: {
        parts.push("[");
        for (let i = 0; i < this.items.length; i++) {
          if (i) parts.push(",");
          unchecked(this.items[i]).writeTo(parts);
        }
        parts.push("]");
        break;
      }
      case JsonKind.Object: {
        parts.push("{");
        for (let i = 0; i < this.items.length; i++) {
          if (i) parts.push(",");
          parts.push(jsonQuote(unchecked(this.keys[i])));
          parts.push(":");
          unchecked(this.items[i]).writeTo(parts);
        }
        parts.push("}");
        break;
      }
      default: parts.push("null");
    }
  }
}

function numberText(n: f64): string {
  if (!isFinite(n)) return "null";
  if (n == Math.floor(n) && Math.abs(n) < 9007199254740992) return (<i64>n).toString();
  return n.toString();
}

// @ts-ignore: decorator
@lazy const HEX = "0123456789abcdef";

function isDigit(c: i32): bool {
  return <u32>(c - 48) < 10;
}

function hexDigit(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  c |= 32;
  return c >= 97 && c <= 102 ? c - 87 : -1;
}

/** `s` as a JSON string literal, quotes included. */
export function jsonQuote(s: string): string {
  const parts: string[] = ["\""];
  let run = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 32 && c != 34 && c != 92) continue;
    parts.push(s.substring(run, i));
    if (c == 34) parts.push("\\\"");
    else if (c == 92) parts.push("\\\\");
    else if (c == 10) parts.push("\\n");
    else if (c == 13) parts.push("\\r");
    else if (c == 9) parts.push("\\t");
    else parts.push("\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15));
    run = i + 1;
  }
  if (run == 0) return "\"" + s + "\"";
  parts.push(s.substring(run));
  parts.push("\"");
  return parts.join("");
}

/** Parses JSON text; null when it is not valid JSON. */
export function parseJson(text: string): JsonValue | null {
  const p = new Parser(text);
  const v = p.value(0);
  if (v == null) return null;
  p.skipSpace();
  return p.pos == text.length ? v : null;
}

class Parser {
  pos: i32 = 0;
  constructor(private text: string) {}

  skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c != 32 && c != 10 && c != 13 && c != 9) break;
      this.pos++;
    }
  }

  private peek(): i32 {
    return this.charAt(this.pos);
  }

  private literal(word: string): bool {
    if (this.text.substr(this.pos, word.length) != word) return false;
    this.pos += word.length;
    return true;
  }

  value(depth: i32): JsonValue | null {
    if (depth > MAX_DEPTH) return null;
    this.skipSpace();
    const c = this.peek();
    if (c == 123) return this.object(depth); // {
    if (c == 91) return this.array(depth); // [
    if (c == 34) { // "
      const s = this.string();
      return s != null ? JsonValue.ofString(s) : null;
    }
    if (c == 116) return this.literal("true") ? JsonValue.ofBool(true) : null;
    if (c == 102) return this.literal("false") ? JsonValue.ofBool(false) : null;
    if (c == 110) return this.literal("null") ? JsonValue.ofNull() : null;
    return this.number();
  }

  private object(depth: i32): JsonValue | null {
    const obj = JsonValue.newObject();
    this.pos++;
    this.skipSpace();
    if (this.peek() == 125) { this.pos++; return obj; }
    while (true) {
      this.skipSpace();
      if (this.peek() != 34) return null;
      const key = this.string();
      if (key == null) return null;
      this.skipSpace();
      if (this.peek() != 58) return null; // :
      this.pos++;
      const v = this.value(depth + 1);
      if (v == null) return null;
      obj.set(key, v);
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c == 125) return obj; // }
      if (c != 44) return null; // ,
    }
  }

  private array(depth: i32): JsonValue | null {
    const arr = JsonValue.newArray();
    this.pos++;
    this.skipSpace();
    if (this.peek() == 93) { this.pos++; return arr; }
    while (true) {
      const v = this.value(depth + 1);
      if (v == null) return null;
      arr.push(v);
      this.skipSpace();
      const c = this.peek();
      this.pos++;
      if (c == 93) return arr; // ]
      if (c != 44) return null;
    }
  }

  private string(): string | null {
    const t = this.text;
    let i = ++this.pos;
    const parts: string[] = [];
    let run = i;
    while (i < t.length) {
      const c = t.charCodeAt(i);
      if (c == 34) {
        this.pos = i + 1;
        if (parts.length == 0) return t.substring(run, i);
        parts.push(t.substring(run, i));
        return parts.join("");
      }
      if (c < 32) return null;
      if (c == 92) {
        if (i + 1 >= t.length) return null;
        parts.push(t.substring(run, i));
        const e = t.charCodeAt(i + 1);
        i += 2;
        let code = e;
        if (e == 110) code = 10;
        else if (e == 116) code = 9;
        else if (e == 114) code = 13;
        else if (e == 98) code = 8;
        else if (e == 102) code = 12;
        else if (e == 117) {
          if (i + 4 > t.length) return null;
          code = 0;
          for (let k = 0; k < 4; k++) {
            const d = hexDigit(t.charCodeAt(i + k));
            if (d < 0) return null;
            code = (code << 4) | d;
          }
          i += 4;
        } else if (e != 34 && e != 92 && e != 47) return null;
        parts.push(String.fromCharCode(code));
        run = i;
        continue;
      }
      i++;
    }
    return null;
  }

  /** `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, kept as text. */
  private number(): JsonValue | null {
    const t = this.text;
    const start = this.pos;
    let i = start;
    if (this.charAt(i) == 45) i++; // -
    if (this.charAt(i) == 48) i++; // a lone 0
    else if (!isDigit(this.charAt(i))) return null;
    else while (isDigit(this.charAt(i))) i++;
    if (this.charAt(i) == 46) { // .
      if (!isDigit(this.charAt(++i))) return null;
      while (isDigit(this.charAt(i))) i++;
    }
    if ((this.charAt(i) | 32) == 101) { // e E
      i++;
      if (this.charAt(i) == 43 || this.charAt(i) == 45) i++;
      if (!isDigit(this.charAt(i))) return null;
      while (isDigit(this.charAt(i))) i++;
    }
    this.pos = i;
    return JsonValue.numberText(t.substring(start, i));
  }

  private charAt(i: i32): i32 {
    return i < this.text.length ? this.text.charCodeAt(i) : -1;
  }
}
