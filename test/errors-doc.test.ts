/**
 * docs/errors.md and ERROR_CODES (host/errors.ts) must agree: the doc's table
 * lists every code exactly once, with the status the host answers with.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../host/errors.ts';

interface DocRow {
  code: string;
  status: number;
  meaning: string;
}

/** The rows of the table whose header is `| Code | HTTP status | Meaning |`. */
function codesTable(markdown: string): DocRow[] {
  const lines = markdown.split('\n');
  const head = lines.findIndex((l) => /^\|\s*Code\s*\|\s*HTTP status\s*\|\s*Meaning\s*\|$/.test(l.trim()));
  if (head === -1) throw new Error('docs/errors.md has no "| Code | HTTP status | Meaning |" table');
  if (!/^\|[\s|:-]+\|$/.test(lines[head + 1]?.trim() ?? '')) throw new Error('the codes table has no separator row');
  const rows: DocRow[] = [];
  for (const line of lines.slice(head + 2)) {
    if (!line.trim().startsWith('|')) break;
    const cells = line.trim().slice(1, -1).split('|').map((c) => c.trim());
    const code = /^`([a-z_]+)`$/.exec(cells[0] ?? '');
    if (cells.length !== 3 || !code) throw new Error(`malformed row in the codes table: ${line}`);
    rows.push({ code: code[1]!, status: Number(cells[1]), meaning: cells[2]! });
  }
  return rows;
}

const rows = codesTable(readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8'));

describe('docs/errors.md', () => {
  it('lists exactly the codes of ERROR_CODES, each once', () => {
    const documented = rows.map((r) => r.code);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('gives each code the HTTP status of ERROR_CODES', () => {
    const documented = Object.fromEntries(rows.map((r) => [r.code, r.status]));
    const table = Object.fromEntries(Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status]));
    expect(documented).toEqual(table);
  });

  it('explains every code', () => {
    for (const row of rows) expect(row.meaning, row.code).not.toBe('');
  });
});
