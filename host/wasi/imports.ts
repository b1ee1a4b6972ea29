/**
 * The host's WASI implementations, keyed by unversioned interface name and
 * then by WIT function name. This table is the one place that says which
 * imports a guest can link against: anything not here is reported at deploy
 * as an unsupported import. Any 0.2.x version of an interface links to the
 * same implementation (0.2 minor releases are backward compatible).
 */
import type { HostFn } from '../abi/canon.js';
import type { WitRegistry } from '../abi/wit.js';
import { environment, exit } from './cli/environment.js';
import { stderr, stdin, stdout, terminalStderr, terminalStdin, terminalStdout } from './cli/stdio.js';
import { monotonicClock, wallClock } from './clocks/clocks.js';
import { deniedInterface } from './denied.js';
import { outgoingHandler } from './http/outgoing-handler.js';
import { types } from './http/types.js';
import { error } from './io/error.js';
import { poll } from './io/poll.js';
import { streams } from './io/streams.js';
import { insecure, insecureSeed, random } from './random/random.js';

/** Implementations by interface. */
export type HostInterfaces = ReadonlyMap<string, Readonly<Record<string, HostFn>>>;

const granted: Record<string, Record<string, HostFn>> = {
  'wasi:io/error': error,
  'wasi:io/poll': poll,
  'wasi:io/streams': streams,
  'wasi:http/types': types,
  'wasi:http/outgoing-handler': outgoingHandler,
  'wasi:cli/environment': environment,
  'wasi:cli/exit': exit,
  'wasi:cli/stdin': stdin,
  'wasi:cli/stdout': stdout,
  'wasi:cli/stderr': stderr,
  'wasi:cli/terminal-input': {},
  'wasi:cli/terminal-output': {},
  'wasi:cli/terminal-stdin': terminalStdin,
  'wasi:cli/terminal-stdout': terminalStdout,
  'wasi:cli/terminal-stderr': terminalStderr,
  'wasi:clocks/monotonic-clock': monotonicClock,
  'wasi:clocks/wall-clock': wallClock,
  'wasi:random/random': random,
  'wasi:random/insecure': insecure,
  'wasi:random/insecure-seed': insecureSeed,
  'wasi:filesystem/preopens': { 'get-directories': () => [] },
};

/** Interfaces that link but deny every operation. */
const DENIED = [
  'wasi:filesystem/types',
  'wasi:sockets/network',
  'wasi:sockets/instance-network',
  'wasi:sockets/ip-name-lookup',
  'wasi:sockets/tcp',
  'wasi:sockets/tcp-create-socket',
  'wasi:sockets/udp',
  'wasi:sockets/udp-create-socket',
];

/**
 * Functions that may suspend the guest while waiting for I/O or time. A core
 * module importing any of them is instrumented at deploy so that it can be
 * suspended (see docs/adr/001-instantiation.md).
 */
export const BLOCKING_FUNCTIONS: ReadonlySet<string> = new Set([
  'wasi:io/poll#[method]pollable.block',
  'wasi:io/poll#poll',
  'wasi:io/streams#[method]input-stream.blocking-read',
  'wasi:io/streams#[method]input-stream.blocking-skip',
  'wasi:io/streams#[method]output-stream.blocking-write-and-flush',
  'wasi:io/streams#[method]output-stream.blocking-flush',
  'wasi:io/streams#[method]output-stream.blocking-write-zeroes-and-flush',
  'wasi:io/streams#[method]output-stream.blocking-splice',
]);

/** Builds the implementation table, including the generated deny-by-default interfaces. */
export function hostInterfaces(wit: WitRegistry): HostInterfaces {
  const map = new Map<string, Record<string, HostFn>>(Object.entries(granted));
  for (const name of DENIED) {
    const iface = wit.get(name);
    if (iface) map.set(name, deniedInterface(iface));
  }
  return map;
}

/** Splits `wasi:http/types@0.2.12` into its unversioned name and version; undefined for unsupported versions. */
export function parseInterfaceName(versioned: string): { name: string; version: string } | undefined {
  const m = /^([a-z0-9-]+:[a-z0-9-]+\/[a-z0-9-]+)@(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/.exec(versioned);
  if (!m) return undefined;
  const [, name, version] = m;
  if (!version!.startsWith('0.2.')) return undefined;
  return { name: name!, version: version! };
}
