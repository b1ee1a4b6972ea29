/**
 * Which guest toolchains this machine has, and what a test that needs a
 * missing one does: locally it is skipped, with the reason printed; in CI
 * (`CI` or `MICRON_REQUIRE_TOOLCHAINS` set, as `.ci/run` does) it runs and
 * fails, so a CI machine without a toolchain can never pass by skipping.
 *
 * ```ts
 * const rust = await guestToolchain('rust');
 * describe('Rust SDK', () => {
 *   checkToolchain(rust);                     // fails first, naming what to install, when required and missing
 *   it.skipIf(rust.skip)('builds …', …);      // runs (and fails on toolchain_missing) when required
 * });
 * ```
 */
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { findAssemblyScript } from '../sdk/build/assemblyscript.ts';
import { findGo } from '../sdk/build/go.ts';
import { findRustToolchain } from '../sdk/build/rust.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A guest language whose toolchain a test may need. */
export type GuestLanguage = 'assemblyscript' | 'rust' | 'go';

/** What {@link guestToolchain} found. */
export interface GuestToolchain {
  language: GuestLanguage;
  /** The toolchain was found. */
  available: boolean;
  /** What was found (`rustc 1.63.0 (/usr/bin/rustc)`), or why nothing was, with what to install. */
  detail: string;
  /** Tests that need it are skipped: missing, and not required by the environment. */
  skip: boolean;
  /** The environment requires every toolchain ({@link toolchainsRequired}). */
  required: boolean;
}

const NAMES: Record<GuestLanguage, string> = { assemblyscript: 'AssemblyScript', rust: 'Rust (wasm32-unknown-unknown)', go: 'Go (wasip1)' };

/**
 * True when a missing toolchain must fail tests instead of skipping them:
 * `CI` or `MICRON_REQUIRE_TOOLCHAINS` is set to anything but empty, `0` or `false`.
 */
export function toolchainsRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const on = (v: string | undefined): boolean => v !== undefined && !['', '0', 'false'].includes(v.trim().toLowerCase());
  return on(env['CI']) || on(env['MICRON_REQUIRE_TOOLCHAINS']);
}

/**
 * Looks for a language's toolchain with the builder's own search, and prints
 * why tests will be skipped (console.warn) or will fail (console.error) when
 * it is missing.
 *
 * @param who names the test file in the printed line
 */
export async function guestToolchain(language: GuestLanguage, who = 'tests'): Promise<GuestToolchain> {
  const required = toolchainsRequired();
  let detail: string;
  let available = true;
  try {
    detail = await probe(language);
  } catch (err) {
    available = false;
    detail = err instanceof Error ? err.message : String(err);
  }
  if (!available) {
    if (required) console.error(`${who}: the ${NAMES[language]} toolchain is missing and CI/MICRON_REQUIRE_TOOLCHAINS requires it, so its tests will fail: ${detail}`);
    else console.warn(`${who}: skipping the tests that need the ${NAMES[language]} toolchain: ${detail}`);
  }
  return { language, available, detail, skip: !available && !required, required };
}

async function probe(language: GuestLanguage): Promise<string> {
  switch (language) {
    case 'assemblyscript':
      return findAssemblyScript(ROOT);
    case 'rust': {
      const t = await findRustToolchain();
      return `${t.version} (${t.rustc})`;
    }
    case 'go': {
      const t = await findGo();
      return `${t.version} (${t.go})`;
    }
  }
}

/**
 * Registers a test that passes when the toolchain is there and fails, with
 * what to install, when it is missing but required; skipped otherwise. It
 * puts the reason at the top of a CI failure instead of in every build error.
 */
export function checkToolchain(t: GuestToolchain): void {
  it.skipIf(t.skip)(`has the ${NAMES[t.language]} toolchain`, () => {
    if (!t.available) throw new Error(`the ${NAMES[t.language]} toolchain is required here but missing: ${t.detail}`);
  });
}
