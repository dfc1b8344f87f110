// The one result table every benchmark prints: each figure beside its same-run baseline, the ratio and the target,
// as a Markdown table that reads the same in a terminal and pasted into a closing note.

export type ResultRow = [string, string, string, string, string, string, string];

const HEADER: ResultRow = ['#', 'measure', 'sealgate', 'baseline (same run)', 'ratio', 'target', 'met'];

export function resultTable(rows: readonly ResultRow[]): string {
  const all = [HEADER, ...rows];
  const widths = HEADER.map((_, c) => Math.max(...all.map((r) => r[c]?.length ?? 0)));
  const line = (r: ResultRow) => `| ${r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(HEADER), rule, ...rows.map(line)].join('\n');
}
