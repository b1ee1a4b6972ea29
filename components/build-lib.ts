/**
 * Turns hand-written WAT guests into WebAssembly components.
 *
 * The pipeline is WAT → core module (`parse`) → core module with the WIT of
 * world `micron:guest/handler` embedded (`componentEmbed`) → component
 * (`componentNew`, no preview1 adapter: the guests import WASI 0.2 directly).
 *
 * jco's bundled wasm-tools reads the WIT folder through preview2-shim's
 * filesystem, which has no preopens by default (the CLI's `jco embed --wit`
 * panics for that reason). We preopen only the WIT folder, and only while
 * embedding, so a process that also uses preview2-shim for other things does
 * not inherit a filesystem grant.
 */
import { fileURLToPath } from 'node:url';
import { componentEmbed, componentNew, parse } from '@bytecodealliance/jco';
import * as shimFilesystem from '@bytecodealliance/preview2-shim/filesystem';

/** The WIT folder every fixture is embedded against (`wit/` at the repository root). */
export const WIT_DIR = fileURLToPath(new URL('../wit/', import.meta.url)).replace(/\/$/, '');

/** The world every fixture targets. */
export const WORLD = 'handler';

/** Options for {@link embedAndWrap}. */
export interface ComponentBuildOptions {
  /** WIT folder to embed against; defaults to {@link WIT_DIR}. */
  witPath?: string;
  /** World name inside that folder; defaults to {@link WORLD}. */
  world?: string;
}

/**
 * Embeds WIT metadata into a core module and wraps it as a component.
 *
 * @param core - a core module whose imports and exports follow the canonical ABI of the world
 * @returns the component's bytes
 */
export async function embedAndWrap(
  core: Uint8Array,
  options: ComponentBuildOptions = {},
): Promise<Uint8Array> {
  const witPath = options.witPath ?? WIT_DIR;
  const world = options.world ?? WORLD;
  const embedded = await withPreopen(witPath, () =>
    componentEmbed({ binary: core, witPath, world }),
  );
  return componentNew(embedded, []);
}

/**
 * Builds a component from WAT text (a core module).
 *
 * Tests use this for ad-hoc guests (bad imports, odd exports) without
 * touching the checked-in fixtures.
 *
 * @example
 * ```ts
 * const bytes = await buildWatComponent(readFileSync('components/hello/hello.wat', 'utf8'));
 * ```
 */
export async function buildWatComponent(
  watText: string,
  options: ComponentBuildOptions = {},
): Promise<Uint8Array> {
  const core = await parse(watText);
  return embedAndWrap(core, options);
}

/** Parses WAT text into a core module without embedding any WIT. */
export async function buildWatCore(watText: string): Promise<Uint8Array> {
  return parse(watText);
}

/**
 * The Node flavour of preview2-shim's filesystem. TypeScript resolves the
 * package's `types` condition, which describes the browser build (in-memory
 * file data); at run time Node loads the build that maps host paths.
 */
const nodeFilesystem = shimFilesystem as unknown as {
  _addPreopen(virtualPath: string, hostPath: string): void;
  preopens: { getDirectories(): unknown[] };
};

// Serialises embeds: the preopen table is process-global.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs `run` with `dir` preopened (at the same path) in preview2-shim, then
 * removes exactly that preopen again. preview2-shim only offers "add" and
 * "clear all"; `getDirectories()` returns its live table, so the entry we
 * added is spliced out of it rather than clearing preopens someone else set.
 */
export async function withPreopen<T>(dir: string, run: () => Promise<T>): Promise<T> {
  const next = queue.then(async () => {
    nodeFilesystem._addPreopen(dir, dir);
    const table = nodeFilesystem.preopens.getDirectories();
    const added = table[table.length - 1];
    try {
      return await run();
    } finally {
      const index = table.indexOf(added);
      if (index >= 0) table.splice(index, 1);
    }
  });
  queue = next.catch(() => undefined);
  return next;
}
