import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/log.ts';

describe('createLogger', () => {
  it('writes JSON lines with child fields and scrubs secret-looking keys at any depth', () => {
    const lines: string[] = [];
    const log = createLogger({ write: (line) => lines.push(line) }).child({ pullId: 'p1' });
    log.info('token fetched', { password: 'hunter2', nested: { Authorization: 'Bearer abc', sig: 'deadbeef', ok: 1 } });
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ level: 'info', message: 'token fetched', pullId: 'p1', nested: { ok: 1 } });
    expect(lines[0]).not.toMatch(/hunter2|Bearer abc|deadbeef/);
  });

  it('drops lines below the level', () => {
    const lines: string[] = [];
    createLogger({ level: 'warn', write: (line) => lines.push(line) }).info('quiet');
    expect(lines).toEqual([]);
  });
});
