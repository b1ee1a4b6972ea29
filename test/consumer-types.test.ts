/**
 * An application that embeds Micron type-checks `import { createHost } from
 * 'micron'` with its own strict configuration (test/consumer/tsconfig.json:
 * NodeNext, lib ES2022 + DOM, no Micron-specific settings such as
 * allowImportingTsExtensions or DOM.Iterable). The package's types are its
 * TypeScript sources, so they must compile under settings like these.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const CONSUMER = fileURLToPath(new URL('./consumer/tsconfig.json', import.meta.url));

describe("a consumer's TypeScript", () => {
  it('compiles an embedding program against the package with a plain strict configuration', () => {
    let output = '';
    try {
      execFileSync(process.execPath, [TSC, '-p', CONSUMER], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      output = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`;
    }
    expect(output).toBe('');
  }, 120_000);
});
