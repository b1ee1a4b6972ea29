/** URL pieces: query-string lookup, percent-decoding, and splitting an absolute URL for fetch. */
import { textBytes, bytesText } from "./abi";

/**
 * The decoded value of the first `name` parameter in a raw query string
 * (`a=1&b=two`), or null. `+` decodes to a space, `%XX` to its byte (UTF-8).
 */
export function queryParam(query: string, name: string): string | null {
  let start = 0;
  const n = query.length;
  while (start <= n) {
    let end = query.indexOf("&", start);
    if (end < 0) end = n;
    const eq = query.indexOf("=", start);
    const keyEnd = eq >= 0 && eq < end ? eq : end;
    if (decodeComponent(query.substring(start, keyEnd)) == name) {
      return keyEnd == end ? "" : decodeComponent(query.substring(keyEnd + 1, end));
    }
    start = end + 1;
  }
  return null;
}

function hexValue(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  c |= 32;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Decodes `%XX` escapes (as UTF-8) and, in a query (`plusIsSpace`), `+` as a
 * space. Malformed escapes are kept as they are.
 */
export function decodeComponent(s: string, plusIsSpace: bool = true): string {
  if (s.indexOf("%") < 0 && (!plusIsSpace || s.indexOf("+") < 0)) return s;
  const src = textBytes(s);
  const out = new Uint8Array(src.length);
  let o = 0;
  for (let i = 0, n = src.length; i < n; i++) {
    let c = <i32>unchecked(src[i]);
    if (c == 43 && plusIsSpace) c = 32;
    else if (c == 37 && i + 2 < n) {
      const hi = hexValue(unchecked(src[i + 1]));
      const lo = hexValue(unchecked(src[i + 2]));
      if (hi >= 0 && lo >= 0) {
        c = (hi << 4) | lo;
        i += 2;
      }
    }
    unchecked((out[o++] = <u8>c));
  }
  return bytesText(out.subarray(0, o));
}

/** An absolute URL split into the parts an outgoing request needs. */
export class UrlParts {
  constructor(
    public scheme: string,
    public authority: string,
    public pathWithQuery: string,
  ) {}

  /** Splits `scheme://authority/path?query`; null when the URL is not absolute. */
  static parse(url: string): UrlParts | null {
    const sep = url.indexOf("://");
    if (sep <= 0) return null;
    const rest = sep + 3;
    let pathAt = url.length;
    for (let i = rest; i < url.length; i++) {
      const c = url.charCodeAt(i);
      if (c == 47 || c == 63 || c == 35) { // '/', '?', '#'
        pathAt = i;
        break;
      }
    }
    let target = url.substring(pathAt);
    const hash = target.indexOf("#");
    if (hash >= 0) target = target.substring(0, hash);
    if (target.length == 0 || target.charCodeAt(0) != 47) target = "/" + target;
    const authority = url.substring(rest, pathAt);
    if (authority.length == 0) return null;
    return new UrlParts(url.substring(0, sep), authority, target);
  }
}
