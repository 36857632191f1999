import { retryingDeadlocks } from '../../../shared/src/db/deadlock-retry';

const aborted = (code: string) => Object.assign(new Error('aborted'), { parent: Object.assign(new Error(code), { code }) });

describe('retryingDeadlocks', () => {
  it('runs the work again after a deadlock or serialization abort, and returns its answer', async () => {
    for (const code of ['40P01', '40001']) {
      let calls = 0;
      const answer = await retryingDeadlocks(async () => {
        calls++;
        if (calls === 1) throw aborted(code);
        return 'done';
      });
      expect([answer, calls]).toEqual(['done', 2]);
    }
  });

  it('gives up after the last attempt, and never retries other errors', async () => {
    let calls = 0;
    await expect(
      retryingDeadlocks(async () => {
        calls++;
        throw aborted('40P01');
      }, 3),
    ).rejects.toThrow('aborted');
    expect(calls).toBe(3);

    calls = 0;
    await expect(
      retryingDeadlocks(async () => {
        calls++;
        throw Object.assign(new Error('unique violation'), { code: '23505' });
      }),
    ).rejects.toThrow('unique violation');
    expect(calls).toBe(1);
  });
});
