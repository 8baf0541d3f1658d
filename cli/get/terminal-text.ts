/**
 * Names and reasons that come from a layer, made safe to print. A layer author chooses its entry
 * names: raw, `x\e[2J\nlayer-relay: done` would clear the operator's screen and forge a line in a
 * deploy log (h2 finding B4).
 */

/** C0 and C1 controls, DEL, and the Unicode line separators and bidi controls that reorder what a reader sees. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** Longer names are cut: one entry must not fill a terminal. Same cap as the extractor's own error messages. */
const MAX_SHOWN = 200;
/** Skipped entries listed per layer before the rest are only counted: a layer of a million FIFOs must not print a million lines. */
export const MAX_SKIPPED_LINES = 20;

/** `text` with every control character replaced by `?`, on one line, at most `max` characters. */
export function terminalText(text: string, max: number = MAX_SHOWN): string {
  const cleaned = text.replace(UNPRINTABLE, '?');
  return cleaned.length > max ? `${cleaned.slice(0, max - 3)}...` : cleaned;
}

/** The "skipped" lines for one layer's skipped entries: the first MAX_SKIPPED_LINES, escaped, then a count of the rest. */
export function skippedLines(skipped: readonly { path: string; reason: string }[]): string[] {
  const lines = skipped.slice(0, MAX_SKIPPED_LINES).map((entry) => `  skipped ${terminalText(entry.path)}: ${terminalText(entry.reason)}`);
  const rest = skipped.length - MAX_SKIPPED_LINES;
  if (rest > 0) lines.push(`  … and ${rest} more skipped ${rest === 1 ? 'entry' : 'entries'} in this layer`);
  return lines;
}
