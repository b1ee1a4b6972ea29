/**
 * `micron build`'s entry: detects a guest project's language and runs its
 * builder. Each language has one file here (`assemblyscript.ts`, `rust.ts`,
 * `go.ts`) exporting a builder with the same shape as {@link Builder}.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MicronError } from '../../host/errors.js';
import { buildAssemblyScript } from './assemblyscript.js';
import { buildRust } from './rust.js';
import { buildGo } from './go.js';

/** A guest language `micron build` knows. */
export type Language = 'assemblyscript' | 'rust' | 'go';

/** Options every builder takes. */
export interface BuildOptions {
  /** Where to write the component (each builder has a default). */
  out?: string;
  /** Called with a one-line description of each step. */
  onProgress?: (msg: string) => void;
}

/** What a builder wrote. */
export interface BuildResult {
  /** Absolute path of the component. */
  output: string;
  /** Its size in bytes. */
  bytes: number;
}

/** Builds the project in a folder into a component. */
export type Builder = (dir: string, opts: BuildOptions) => Promise<BuildResult>;

const BUILDERS: Partial<Record<Language, Builder>> = {
  assemblyscript: buildAssemblyScript,
  rust: buildRust,
  go: buildGo,
};

/**
 * The language of the project in `dir`, or null: `assemblyscript` for an
 * asconfig.json or a package.json depending on assemblyscript, `rust` for a
 * Cargo.toml, `go` for a go.mod.
 */
export function detectLanguage(dir: string): Language | null {
  const has = (name: string) => existsSync(path.join(dir, name));
  if (has('asconfig.json') || dependsOnAssemblyScript(path.join(dir, 'package.json'))) return 'assemblyscript';
  if (has('Cargo.toml')) return 'rust';
  if (has('go.mod')) return 'go';
  return null;
}

function dependsOnAssemblyScript(file: string): boolean {
  if (!existsSync(file)) return false;
  try {
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string> | undefined>;
    return ['dependencies', 'devDependencies'].some((field) => pkg[field]?.['assemblyscript'] !== undefined);
  } catch {
    return false;
  }
}

/**
 * Builds the project in `dir` with its language's builder.
 *
 * @throws MicronError `build_failed` when the language is unknown, or what the builder throws.
 */
export async function buildProject(dir: string, opts: BuildOptions = {}): Promise<BuildResult & { language: Language }> {
  const language = detectLanguage(dir);
  if (!language) {
    throw new MicronError(
      'build_failed',
      `${path.resolve(dir)}: cannot tell the language (expected asconfig.json or package.json with assemblyscript, Cargo.toml, or go.mod)`,
    );
  }
  const builder = BUILDERS[language];
  if (!builder) throw new MicronError('toolchain_missing', `no builder for ${language} yet`);
  return { ...(await builder(dir, opts)), language };
}
