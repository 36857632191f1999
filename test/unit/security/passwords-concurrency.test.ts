import argon2 from 'argon2';
import { HASH_CONCURRENCY, hashPassword, verifyPassword, verifyAgainstDummy } from '../../../shared/src/security/passwords';

/**
 * P4's lever: argon2 work is bounded per process (every core but one), so sign-in bursts queue
 * instead of taking every core from the event loop. The real argon2 runs; a pass-through spy only
 * counts how many computations are in flight at once.
 */
describe('password hashing concurrency', () => {
  let inFlight = 0;
  let peak = 0;

  beforeAll(() => {
    const realVerify = argon2.verify.bind(argon2);
    const realHash = argon2.hash.bind(argon2);
    const track = async <T>(work: () => Promise<T>): Promise<T> => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        return await work();
      } finally {
        inFlight--;
      }
    };
    jest.spyOn(argon2, 'verify').mockImplementation((...args: Parameters<typeof argon2.verify>) => track(() => realVerify(...args)));
    jest.spyOn(argon2, 'hash').mockImplementation(((...args: Parameters<typeof argon2.hash>) => track(() => realHash(...args))) as typeof argon2.hash);
  });

  afterAll(() => jest.restoreAllMocks());

  it('leaves a core to the event loop and never runs more than HASH_CONCURRENCY at once', async () => {
    expect(HASH_CONCURRENCY).toBeGreaterThanOrEqual(1);
    const hash = await hashPassword('correct horse battery staple 42');
    peak = 0;
    const attempts = Array.from({ length: HASH_CONCURRENCY * 3 + 2 }, (_, i) =>
      i % 3 === 2 ? verifyAgainstDummy('whatever it is 1234') : verifyPassword(hash, i % 3 === 0 ? 'correct horse battery staple 42' : 'wrong horse battery staple 42'),
    );
    const results = await Promise.all(attempts);
    expect(peak).toBe(HASH_CONCURRENCY);
    results.forEach((ok, i) => expect(ok).toBe(i % 3 === 0));
    expect(inFlight).toBe(0);
  });

  it('frees the slot when argon2 throws (a malformed hash), so later sign-ins are not stuck', async () => {
    const broken = await Promise.all(Array.from({ length: HASH_CONCURRENCY + 2 }, () => verifyPassword('not an argon2 hash', 'anything at all 123')));
    expect(broken.every((ok) => ok === false)).toBe(true);
    const hash = await hashPassword('another good password 77');
    await expect(verifyPassword(hash, 'another good password 77')).resolves.toBe(true);
  });
});
