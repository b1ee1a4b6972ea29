/**
 * Rebuilds the guest fixtures in components/: `npm run components [name…]`.
 *
 * A fixture is a folder `components/<name>/` holding either `<name>.wat`
 * (hand-written core module, see build-lib.ts), `handler.js` (a
 * componentize-js guest), or a guest SDK project (AssemblyScript, Rust or Go:
 * built by `micron build`'s builder, sdk/build/, which needs that language's
 * toolchain). The built component is written next to the source as
 * `<name>.wasm`. With no names, every fixture is rebuilt.
 */
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProject, detectLanguage } from '../sdk/build/index.ts';
import { buildWatComponent, WIT_DIR, withPreopen } from './build-lib.ts';

const COMPONENTS_DIR = fileURLToPath(new URL('.', import.meta.url));

/** Builds one fixture folder and returns the path and size of what it wrote. */
async function buildFixture(name: string): Promise<{ path: string; bytes: number }> {
  const dir = join(COMPONENTS_DIR, name);
  const out = join(dir, `${name}.wasm`);
  const wat = join(dir, `${name}.wat`);
  const js = join(dir, 'handler.js');
  let bytes: Uint8Array;
  if (existsSync(wat)) {
    bytes = await buildWatComponent(readFileSync(wat, 'utf8'));
  } else if (existsSync(js)) {
    bytes = await buildJsComponent(js);
  } else if (existsSync(dir) && detectLanguage(dir)) {
    return { path: out, bytes: (await buildProject(dir, { out })).bytes };
  } else {
    throw new Error(`components/${name}: no ${name}.wat, handler.js or guest SDK project`);
  }
  writeFileSync(out, bytes);
  return { path: out, bytes: bytes.byteLength };
}

/**
 * The WASI version componentize-js 0.22's StarlingMonkey engine is built
 * against. Its fetch-event glue exports `wasi:http/incoming-handler@0.2.10`,
 * and the splicer only finds that export if the target world names the same
 * version, so JS guests are embedded against a copy of wit/ relabelled to it.
 */
const STARLINGMONKEY_WASI_VERSION = '0.2.10';

/**
 * Builds a StarlingMonkey component from a JS file that registers a `fetch`
 * event listener, targeting world `handler` (wasi:http/proxy plus
 * wasi:cli/environment). componentize-js is a devDependency and slow to load,
 * so it is imported only when needed.
 */
async function buildJsComponent(file: string): Promise<Uint8Array> {
  const { componentize } = await import('@bytecodealliance/componentize-js');
  const witDir = relabelledWit(STARLINGMONKEY_WASI_VERSION);
  try {
    // componentize-js reads the WIT through the same preview2-shim filesystem.
    const { component } = await withPreopen(witDir, () =>
      componentize({ sourcePath: file, witPath: witDir, worldName: 'handler' }),
    );
    return component;
  } finally {
    rmSync(witDir, { recursive: true, force: true });
  }
}

/**
 * Copies wit/ to a temporary folder with every `@0.2.12` rewritten to
 * `@<version>`. The `network-error-code` gate is lifted too: the engine's own
 * wasi:sockets/network uses `wasi:io/error.{error}` ungated, and wit-component
 * refuses to merge the two interfaces if our copy hides that type.
 */
function relabelledWit(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'micron-wit-'));
  cpSync(WIT_DIR, dir, { recursive: true });
  const rewrite = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        rewrite(path);
      } else if (entry.name.endsWith('.wit')) {
        const text = readFileSync(path, 'utf8')
          .replaceAll('@0.2.12', `@${version}`)
          .replaceAll('@unstable(feature = network-error-code)', '');
        writeFileSync(path, text);
      }
    }
  };
  rewrite(dir);
  return dir;
}

function fixtureNames(): string[] {
  return readdirSync(COMPONENTS_DIR)
    .filter((entry) => statSync(join(COMPONENTS_DIR, entry)).isDirectory())
    .filter((entry) => {
      const dir = join(COMPONENTS_DIR, entry);
      return existsSync(join(dir, `${entry}.wat`)) || existsSync(join(dir, 'handler.js')) || detectLanguage(dir) !== null;
    })
    .sort();
}

const requested = process.argv.slice(2);
const names = requested.length > 0 ? requested : fixtureNames();
let failed = false;
for (const name of names) {
  const started = performance.now();
  try {
    const { bytes } = await buildFixture(name);
    const ms = (performance.now() - started).toFixed(0);
    console.log(`${name.padEnd(14)} ${String(bytes).padStart(9)} bytes  ${ms} ms`);
  } catch (error) {
    failed = true;
    console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
process.exitCode = failed ? 1 : 0;
