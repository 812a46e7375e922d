/**
 * A small benchmark harness: every table measures a same-run baseline and prints each
 * operation's rate with its ratio to that baseline, so figures from different machines (or
 * different runs on a busy machine) can be compared by ratio rather than by absolute rate.
 */

/** One measured operation. */
export interface BenchRow {
  /** What was measured, e.g. `encodeMuLaw (aligned)`. */
  name: string;
  /** Units of work per second (messages, packets, samples…). */
  rate: number;
  /** Optional extra column (a target, a note). */
  note?: string;
}

/** Keeps results observable so the JIT cannot drop the measured work. */
export let sink = 0;
export function consume(v: number): void {
  sink = (sink + v) | 0;
}

/**
 * Runs `fn` repeatedly for at least `minMs` (after a warm-up) and returns units per second,
 * where one call of `fn` does `unitsPerCall` units of work.
 */
export function measure(fn: () => void, unitsPerCall: number, minMs = 400): number {
  // Warm-up: let the JIT optimise the function before timing it.
  const warmEnd = performance.now() + Math.min(150, minMs / 2);
  while (performance.now() < warmEnd) fn();
  let calls = 0;
  let batch = 1;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < batch; i++) fn();
    calls += batch;
    elapsed = performance.now() - start;
    if (elapsed < minMs / 10) batch *= 2;
  }
  return (calls * unitsPerCall) / (elapsed / 1000);
}

function formatRate(rate: number): string {
  if (rate >= 1e9) return `${(rate / 1e9).toFixed(2)} G`;
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)} M`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)} k`;
  return rate.toFixed(1);
}

/**
 * Prints one table: a title, the baseline row, then each row with its ratio to the baseline.
 * `unit` names what the rate counts, e.g. `messages/s`.
 */
export function printTable(title: string, unit: string, baseline: BenchRow, rows: BenchRow[]): void {
  const all = [baseline, ...rows];
  const nameWidth = Math.max(9, ...all.map((r) => r.name.length));
  const header = `${'operation'.padEnd(nameWidth)}  ${unit.padStart(14)}  ${'vs baseline'.padStart(11)}  note`;
  console.log(`\n## ${title}`);
  console.log(header);
  console.log('-'.repeat(header.length + 10));
  for (const r of all) {
    const ratio = r === baseline ? 'baseline' : `${(r.rate / baseline.rate).toFixed(3)}x`;
    console.log(
      `${r.name.padEnd(nameWidth)}  ${formatRate(r.rate).padStart(14)}  ${ratio.padStart(11)}  ${r.note ?? ''}`,
    );
  }
}

/** Prints a free-form table (for benchmarks whose figures are not rates, e.g. jitter scenarios). */
export function printGrid(title: string, columns: string[], rows: (string | number)[][]): void {
  const cells = [columns, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toFixed(2) : c)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  console.log(`\n## ${title}`);
  cells.forEach((r, n) => {
    console.log(r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join('  '));
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}
