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
import { withPreopen } from '../sdk/build/preopen.ts';

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

/** Re-exported: the one preopen helper shared by every build tool (sdk/build/preopen.ts). */
export { withPreopen };
