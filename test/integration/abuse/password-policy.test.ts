import { startHarness, uniqueEmail, type Harness } from '../../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const register = (password: string, email = uniqueEmail()) => h.http.post('/auth/register').send({ email, password });
const login = (email: string, password: string) => h.http.post('/auth/login').send({ email, password });

describe('password policy', () => {
  it('refuses passwords shorter than 12 or longer than 128 characters, and common ones', async () => {
    expect((await register('elevenchars')).body.code).toBe('validation_failed');
    expect((await register('x'.repeat(129) + 'y')).body.code).toBe('validation_failed');
    expect((await register('qwerty123456')).body.code).toBe('validation_failed');
    expect((await register('QWERTY123456')).body.code).toBe('validation_failed');
    expect((await register('aaaaaaaaaaaaaaaa')).body.code).toBe('validation_failed');
    expect((await register('twelve chars')).status).toBe(202);
    expect((await register(`${'long pass '.repeat(12)}12345678`)).status).toBe(202);
  });

  it('accepts Unicode, compares it in NFKC form, and never truncates', async () => {
    const email = uniqueEmail();
    // "ﬁ" (U+FB01) is NFKC-equal to "fi"; full-width digits equal ASCII digits.
    expect((await register('pass ﬁne wörds １２３', email)).status).toBe(202);
    expect((await login(email, 'pass fine wörds 123')).status).toBe(200);
    const long = `${'z'.repeat(100)}-tail-A`;
    const email2 = uniqueEmail();
    expect((await register(long, email2)).status).toBe(202);
    expect((await login(email2, `${'z'.repeat(100)}-tail-B`)).body.code).toBe('invalid_credentials');
    expect((await login(email2, long)).status).toBe(200);
  });

  it('refuses an oversize password at login before hashing, without a 5xx', async () => {
    const res = await login(uniqueEmail(), 'p'.repeat(513));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
  });
});
