import { describe, expect, it } from 'vitest';
import { joinOptionValues, UsageError } from './cli.js';

const OPTIONS = { name: { type: 'string', short: 'n' }, token: { type: 'string' }, json: { type: 'boolean' } } as const;

describe('joinOptionValues', () => {
  it('joins a value-taking option with its separate value, also when the value begins with "-"', () => {
    expect(joinOptionValues(['deploy', 'f.wasm', '--token', '-abc', '-n', '-x', '--json'], OPTIONS)).toEqual(['deploy', 'f.wasm', '--token=-abc', '--name=-x', '--json']);
  });

  it('leaves `--opt=value`, boolean options, unknown options and everything after `--` as they are', () => {
    expect(joinOptionValues(['--token=t', '--json', 'x', '--other', 'y', '--', '--token', 'z'], OPTIONS)).toEqual(['--token=t', '--json', 'x', '--other', 'y', '--', '--token', 'z']);
  });

  it('refuses a value-taking option followed by another of the options, by `--`, or by nothing', () => {
    for (const argv of [['--token', '--json'], ['--token', '-n', 'a'], ['--token'], ['-n', '--'], ['--name', '--token=x']]) {
      expect(() => joinOptionValues(argv, OPTIONS)).toThrow(UsageError);
    }
    expect(() => joinOptionValues(['list', '--token'], OPTIONS)).toThrow('option --token needs a value (--token VALUE, or --token=VALUE)');
  });
});
