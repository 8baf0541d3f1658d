/**
 * Text that comes from outside (layer entry names, a relay's answers), made safe to print or log: a
 * layer author chooses its entry names, and raw, `x\e[2J\nlayer-relay: done` would clear an
 * operator's screen and forge a line in a deploy log (h2 finding B4).
 */

/** C0 and C1 controls, DEL, and the Unicode line separators and bidi controls that reorder what a reader sees. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** Longer names are cut: one entry must not fill a terminal. Same cap as the extractor's own error messages. */
const MAX_SHOWN = 200;
/** `text` with every control character replaced by `?`, on one line, at most `max` characters. */
export function printableText(text: string, max: number = MAX_SHOWN): string {
  const cleaned = text.replace(UNPRINTABLE, '?');
  return cleaned.length > max ? `${cleaned.slice(0, max - 3)}...` : cleaned;
}
