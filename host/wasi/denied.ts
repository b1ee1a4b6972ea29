/**
 * Capabilities a guest may import but that Micron never grants by default:
 * wasi:filesystem (no preopened directories) and wasi:sockets (no network).
 * Guests built with a preview1 adapter or by componentize-js import these
 * interfaces even when they never use them, so they must link. Every function
 * answers the interface's own "access denied" error where its signature has
 * one, "none" where it returns an option, and otherwise traps; with no
 * preopens and no network handle, a guest can never reach most of them.
 */
import type { HostFn } from '../abi/canon.js';
import type { WitInterface } from '../abi/wit.js';
import type { GuestContext } from './context.js';

/** Builds deny-by-default implementations for every function of `iface`. */
export function deniedInterface(iface: WitInterface): Record<string, HostFn> {
  const out: Record<string, HostFn> = {};
  for (const [name, ft] of iface.funcs) {
    const r = ft.result;
    if (r?.k === 'result' && r.err?.k === 'enum') {
      const code = r.err.names.find((n) => n === 'access' || n === 'access-denied' || n === 'not-permitted');
      if (code) {
        const val = { tag: 'err', val: code };
        out[name] = () => val;
        continue;
      }
    }
    if (r?.k === 'option') {
      out[name] = () => undefined;
      continue;
    }
    if (r?.k === 'list') {
      out[name] = () => [];
      continue;
    }
    out[name] = (cx: GuestContext) => {
      throw cx.trap(`${iface.name}.${name} is not available: Micron grants no filesystem or network access to guests`);
    };
  }
  return out;
}
