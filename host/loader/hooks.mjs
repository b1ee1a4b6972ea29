// Node module hooks that run the host's TypeScript sources directly, the way
// the checkout is used (no build step). Each .ts file is transformed on load
// with esbuild (types stripped, nothing else), in place, so `import.meta.url`
// and relative paths behave exactly as in the source tree.
//
// Why not tsx (which the tests' tooling and the benches also use): tsx always
// transforms with esbuild's `keepNames`, which wraps every function and class
// expression in a helper that calls Object.defineProperty(fn, 'name', …) when
// the expression is evaluated. On the request path that is every closure
// created per request, and each call also moves the function to a new hidden
// class. See docs/adr/005-typescript-loader.md for the measurements.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

const TS = /\.[cm]?ts$/;

/** Resolves `./x.js` to `./x.ts` when only the TypeScript source exists (TypeScript's NodeNext convention). */
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const relative = specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:');
    if (!relative || !/\.[cm]?js$/.test(specifier) || error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    return nextResolve(specifier.replace(/js$/, 'ts'), context);
  }
}

/** Loads a .ts/.mts file as an ES module with its types stripped. */
export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !TS.test(new URL(url).pathname)) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const source = await readFile(path, 'utf8');
  const out = await transform(source, {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcefile: path,
    sourcemap: 'inline',
    // The project's tsconfig targets ES2022: class fields have define semantics.
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
  });
  return { format: 'module', source: out.code, shortCircuit: true };
}
