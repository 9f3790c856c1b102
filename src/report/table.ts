/** Plain-text tables and number formats shared by every command's report. */

/** Cells that look numeric ("12", "3.5%", "1.2e-5", "2/3", "4.1x", "-", "inf") are right-aligned. */
const NUMERIC = /^[-+]?(\d[\d.,]*(e[-+]?\d+)?|inf|-)(\/\d+)?[%x]?$/i;

/** Rows under headers and a rule, in aligned columns, each line prefixed by `indent`. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, indent = ''): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => indent + cells
    .map((c, i) => (NUMERIC.test(c) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
    .join('  ')
    .trimEnd();
  return [line(headers), indent + widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

/** A number with `digits` decimals; "-" for NaN. */
export function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

/** An error magnitude: 0, 3 significant digits in exponent form, or "-" for NaN. */
export function sci(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '-';
  if (n === 0) return '0';
  if (!Number.isFinite(n)) return 'inf';
  return n.toExponential(2);
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
