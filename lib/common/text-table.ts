/** Plain-text tables for CLI and benchmark output: padded columns, numbers right-aligned. */

/** Formats `value` with thousands separators and exactly `digits` decimals. */
export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/**
 * Renders `rows` under `header` as lines of columns separated by two spaces, with a rule under
 * the header; a cell that looks like a number (or is `-`, no value) is right-aligned, anything else left-aligned.
 * Numbers are printed as they are (format them first for thousands separators).
 */
export function renderTable(header: readonly string[], cells: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const rows = cells.map((row) => row.map(String));
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const isNumeric = (cell: string): boolean => cell === '-' || /^[-+]?[\d,.]+(?:x|%| ms| s)?$/.test(cell);
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (isNumeric(cell) ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))).join('  ').trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}
