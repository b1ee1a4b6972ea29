/** Markdown helpers shared by the benches' reports. */

/** A markdown table; numeric-looking columns are right-aligned. */
export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => /^[-\d.,×%~ —]*$/.test(r[i] ?? '')));
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (numeric[i] ? '--:' : '---'))), ...rows.map(line)].join('\n');
}

/** `n` with `digits` decimals, or `—` when there is no value. */
export function num(n: number | undefined, digits = 1): string {
  return n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits);
}

/** A ratio as `1.23×`, or `—`. */
export function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || !(b > 0) ? '—' : `${(a / b).toFixed(2)}×`;
}
