import { describe, expect, it } from 'vitest';
import { skippedLines } from '../../../cli/get/terminal-text.ts';
import { printableText } from '../../../shared/printable-text.ts';

describe('printableText', () => {
  it.each([
    ['ESC sequences (clear screen, colour)', 'x\x1b[2J\x1b[31mFAKE', 'x?[2J?[31mFAKE'],
    ['a newline that would forge a log line', 'a\nlayer-relay: done\x07', 'a?layer-relay: done?'],
    ['C1 controls (8-bit CSI)', 'a\u009b31mb', 'a?31mb'],
    ['bidi overrides and line separators', 'evil\u202egpj.exe\u2028x', 'evil?gpj.exe?x'],
    ['DEL', 'a\u007fb', 'a?b'],
    ['plain UTF-8 stays', 'bin/ünïcode → ok', 'bin/ünïcode → ok'],
  ])('replaces %s', (_, input, expected) => {
    expect(printableText(input)).toBe(expected);
  });

  it('caps very long names', () => {
    const shown = printableText('a'.repeat(5000));
    expect(shown.length).toBeLessThanOrEqual(200);
    expect(shown.endsWith('...')).toBe(true);
  });
});

describe('skippedLines', () => {
  const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ path: `dev/p${i}`, reason: 'fifo entries are not extracted' }));

  it('prints every entry up to the cap, escaped', () => {
    expect(skippedLines([{ path: 'x\x1b[2J', reason: 'fifo\nentries' }])).toEqual(['  skipped x?[2J: fifo?entries']);
  });

  it('after 20 lines says how many more were skipped instead of listing them', () => {
    expect(skippedLines(entries(20))).toHaveLength(20);
    const lines = skippedLines(entries(45));
    expect(lines).toHaveLength(21);
    expect(lines[19]).toBe('  skipped dev/p19: fifo entries are not extracted');
    expect(lines[20]).toBe('  … and 25 more skipped entries in this layer');
    expect(skippedLines(entries(21))[20]).toBe('  … and 1 more skipped entry in this layer');
  });
});
