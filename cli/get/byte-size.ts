import { RelayError } from '../../shared/errors.ts';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `1048576`, `512M`, `16GiB`, `2t` → bytes (binary multiples); anything else is a usage error. */
export function parseByteSize(text: string, what: string): number {
  const match = /^(\d+)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  const value = match ? Number(match[1]) * UNITS[match[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(value) || value <= 0) throw new RelayError('INVALID_REQUEST', `${what}: "${text.slice(0, 40)}" is not a size (e.g. 512M, 16G)`);
  return value;
}

/** 1536 → "1.5 KiB": sizes a person reads in progress lines. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
