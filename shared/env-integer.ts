import { z } from 'zod';

/** Decimal digits only: Number() also takes `0x1F90`, ` 8081`, `1e3` and `80.0`, so a typo would quietly become another value. */
const DIGITS = /^[0-9]{1,16}$/;

/**
 * An integer environment variable within [min, max]. One message, naming the variable, the range
 * and what was given, whatever is wrong with the value (N6 of the first-contact report).
 */
export function envInteger(name: string, min: number, max = Number.MAX_SAFE_INTEGER, note?: string) {
  const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `${min}–${max}`;
  return z.string().transform((text, ctx) => {
    const value = DIGITS.test(text) ? Number(text) : Number.NaN;
    if (Number.isSafeInteger(value) && value >= min && value <= max) return value;
    ctx.issues.push({ code: 'custom', input: text, message: `${name} must be an integer ${range}${note === undefined ? '' : ` (${note})`}, not ${JSON.stringify(text.slice(0, 40))}` });
    return z.NEVER;
  });
}
