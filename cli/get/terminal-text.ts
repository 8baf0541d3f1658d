import { printableText } from '../../shared/printable-text.ts';

/* Skipped entries of a layer, as `get` prints them: names escaped (shared/printable-text.ts), and bounded. */

/** Skipped entries listed per layer before the rest are only counted: a layer of a million FIFOs must not print a million lines. */
export const MAX_SKIPPED_LINES = 20;

/** The "skipped" lines for one layer's skipped entries: the first MAX_SKIPPED_LINES, escaped, then a count of the rest. */
export function skippedLines(skipped: readonly { path: string; reason: string }[]): string[] {
  const lines = skipped.slice(0, MAX_SKIPPED_LINES).map((entry) => `  skipped ${printableText(entry.path)}: ${printableText(entry.reason)}`);
  const rest = skipped.length - MAX_SKIPPED_LINES;
  if (rest > 0) lines.push(`  … and ${rest} more skipped ${rest === 1 ? 'entry' : 'entries'} in this layer`);
  return lines;
}
