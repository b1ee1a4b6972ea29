/**
 * Bundles the dashboard's browser code (`app.ts`) into `app.bundle.js` with
 * esbuild. The bundle is committed, so a host needs no build step and no
 * esbuild at run time; `test/dashboard.test.ts` checks that it is up to date.
 *
 * Run: `npm run dashboard` (or `node --import ./host/loader/register.mjs host/server/dashboard/build.ts`).
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = dirname(fileURLToPath(import.meta.url));

/** The bundle's text, built in memory. */
export async function buildDashboard(): Promise<string> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [join(DIR, 'app.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2022',
    write: false,
    legalComments: 'none',
  });
  return out.outputFiles[0]!.text;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = await buildDashboard();
  await writeFile(join(DIR, 'app.bundle.js'), text);
  process.stdout.write(`wrote host/server/dashboard/app.bundle.js (${text.length} bytes)\n`);
}
