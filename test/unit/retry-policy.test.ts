import { describe, expect, it } from 'vitest';
import { RelayError } from '../../shared/errors.ts';
import { createRetryPolicy } from '../../shared/retry-policy.ts';

function fakeClock() {
  const sleeps: number[] = [];
  return { sleeps, sleep: async (ms: number) => void sleeps.push(ms) };
}

const unavailable = () => new RelayError('REGISTRY_UNAVAILABLE', 'down');

describe('createRetryPolicy', () => {
  it('retries retryable RelayErrors until success', async () => {
    const clock = fakeClock();
    const policy = createRetryPolicy({ sleep: clock.sleep, random: () => 0.5 });
    let calls = 0;
    const result = await policy.retry(async (attempt) => {
      calls++;
      if (attempt < 3) throw unavailable();
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(clock.sleeps).toHaveLength(2);
  });

  it('does not retry errors that are not retryable', async () => {
    const clock = fakeClock();
    const policy = createRetryPolicy({ sleep: clock.sleep });
    let calls = 0;
    const denied = new RelayError('DENIED', 'no');
    await expect(policy.retry(async () => { calls++; throw denied; })).rejects.toBe(denied);
    expect(calls).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('does not retry plain errors (bugs are not transient)', async () => {
    const policy = createRetryPolicy({ sleep: fakeClock().sleep });
    let calls = 0;
    await expect(policy.retry(async () => { calls++; throw new Error('bug'); })).rejects.toThrow('bug');
    expect(calls).toBe(1);
  });

  it('honours a retryable override on a code that is not retryable by default', async () => {
    const policy = createRetryPolicy({ sleep: fakeClock().sleep, maxAttempts: 2 });
    let calls = 0;
    await expect(policy.retry(async () => { calls++; throw new RelayError('REGISTRY_ERROR', 'x', { retryable: true }); })).rejects.toThrow('x');
    expect(calls).toBe(2);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const clock = fakeClock();
    const policy = createRetryPolicy({ sleep: clock.sleep, maxAttempts: 4 });
    let calls = 0;
    await expect(policy.retry(async () => { calls++; throw new RelayError('REGISTRY_UNAVAILABLE', `try ${calls}`); })).rejects.toThrow('try 4');
    expect(calls).toBe(4);
    expect(clock.sleeps).toHaveLength(3);
  });

  it('backs off exponentially with full jitter, capped at maxDelayMs', async () => {
    const clock = fakeClock();
    const policy = createRetryPolicy({ sleep: clock.sleep, random: () => 0.999, baseDelayMs: 100, maxDelayMs: 500, maxAttempts: 6 });
    await expect(policy.retry(async () => { throw unavailable(); })).rejects.toThrow();
    expect(clock.sleeps).toEqual([99, 199, 399, 499, 499]);
  });

  it('jitter draws from [0, ceiling)', () => {
    const policy = createRetryPolicy({ random: () => 0, baseDelayMs: 100 });
    expect(policy.delayFor(3, unavailable())).toBe(0);
    expect(createRetryPolicy({ random: () => 0.5, baseDelayMs: 100 }).delayFor(3, unavailable())).toBe(200);
  });

  it('waits as long as Retry-After says, capped at maxRetryAfterMs (field case G3)', async () => {
    const clock = fakeClock();
    const policy = createRetryPolicy({ sleep: clock.sleep, maxRetryAfterMs: 5000, maxAttempts: 3, random: () => 0 });
    let calls = 0;
    await policy.retry(async () => {
      calls++;
      if (calls === 1) throw new RelayError('RATE_LIMITED', 'slow down', { retryAfterMs: 2000 });
      if (calls === 2) throw new RelayError('RATE_LIMITED', 'slow down', { retryAfterMs: 3_600_000 });
      return 'ok';
    });
    expect(clock.sleeps).toEqual([2000, 5000]);
  });

  it('never waits less than its own backoff: a Retry-After of 0 or in the past (clock skew) is no licence to hammer (G3)', () => {
    const policy = createRetryPolicy({ random: () => 0.5, baseDelayMs: 500, maxRetryAfterMs: 10_000 });
    const limited = (retryAfterMs: number) => new RelayError('RATE_LIMITED', 'slow down', { retryAfterMs });
    expect(policy.delayFor(1, limited(0))).toBe(250);
    expect(policy.delayFor(2, limited(100))).toBe(500);
    expect(policy.delayFor(1, limited(2000))).toBe(2000);
    expect(policy.delayFor(1, limited(3_600_000))).toBe(10_000);
  });

  it('reports each retry to onRetry', async () => {
    const seen: Array<[number, number]> = [];
    const policy = createRetryPolicy({ sleep: fakeClock().sleep, random: () => 0, maxAttempts: 3, onRetry: (_e, attempt, ms) => seen.push([attempt, ms]) });
    await expect(policy.retry(async () => { throw unavailable(); })).rejects.toThrow();
    expect(seen).toEqual([[1, 0], [2, 0]]);
  });
});
