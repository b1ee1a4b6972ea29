/** Markdown helpers shared by the benches' reports. */
import { cpus, loadavg } from 'node:os';

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

/** The head of a stand-alone bench report: title, date, machine and load, node, and the command that ran it. */
export function reportHeader(title: string, command: string): string[] {
  const cpu = cpus();
  return [
    `# ${title}`,
    '',
    `- date: ${new Date().toISOString()}`,
    `- machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    `- node: ${process.version}`,
    `- command: \`${command}\``,
    '',
  ];
}
