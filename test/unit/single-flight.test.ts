import { describe, expect, it } from 'vitest';
import { SingleFlight } from '../../shared/single-flight.ts';

describe('SingleFlight', () => {
  it('runs one call per key while it is in flight, and a new one after', async () => {
    const flight = new SingleFlight<number>();
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const work = async () => {
      calls += 1;
      await gate;
      return calls;
    };
    const all = Promise.all([flight.run('a', work), flight.run('a', work), flight.run('b', work)]);
    release();
    expect(await all).toEqual([2, 2, 2]);
    expect(calls).toBe(2);
    expect(flight.size).toBe(0);
    await flight.run('a', work);
    expect(calls).toBe(3);
  });

  it('shares a failure with every waiter and forgets it', async () => {
    const flight = new SingleFlight<number>();
    const failing = () => Promise.reject(new Error('boom'));
    await expect(Promise.all([flight.run('k', failing), flight.run('k', failing)])).rejects.toThrow('boom');
    expect(await flight.run('k', async () => 7)).toBe(7);
  });
});
