/** {@link env}: the environment variables the operator configured for the function (`wasi:cli/environment`). */
import { RET, liftString } from "./abi";
import { getEnvironment } from "./wasi/cli/environment";

// @ts-ignore: decorator
@lazy let names: string[] | null = null;
// @ts-ignore: decorator
@lazy let values: string[] = [];

function load_(): string[] {
  let n = names;
  if (n == null) {
    n = [];
    getEnvironment(RET);
    const base = load<usize>(RET);
    const count = <i32>load<u32>(RET, 4);
    for (let i = 0; i < count; i++) {
      const e = base + <usize>(i << 4);
      n.push(liftString(load<usize>(e), load<u32>(e, 4)));
      values.push(liftString(load<usize>(e, 8), load<u32>(e, 12)));
    }
    names = n;
  }
  return n;
}

/** The value of environment variable `name`, or null when it is not set. */
export function env(name: string): string | null {
  const n = load_();
  for (let i = 0; i < n.length; i++) if (unchecked(n[i]) == name) return unchecked(values[i]);
  return null;
}

/** Every environment variable. */
export function environment(): Map<string, string> {
  const n = load_();
  const m = new Map<string, string>();
  for (let i = 0; i < n.length; i++) m.set(unchecked(n[i]), unchecked(values[i]));
  return m;
}
