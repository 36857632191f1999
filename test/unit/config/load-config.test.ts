import { ConfigError, loadConfig } from '../../../shared/src/config/load-config';

describe('loadConfig', () => {
  it('gives the contract defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.jwt).toMatchObject({ algorithm: 'ES256', accessTtl: 600, issuer: 'http://localhost:3000' });
    expect(c.refresh).toEqual({ idleTtl: 14 * 86400, absoluteTtl: 30 * 86400, graceSeconds: 10 });
    expect(c.allowedOrigins).toEqual(['http://localhost:3000']);
    expect(c.requireEmailVerification).toBe(false);
    expect(c.rateLimitScale).toBe(1);
    expect(c.mail).toEqual({ transport: 'file', outboxFile: '.data/mail.ndjson' });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'abc', ACCESS_TOKEN_TTL: '30', JWT_ALGORITHM: 'HS256', REFRESH_GRACE_SECONDS: '-1' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'ACCESS_TOKEN_TTL', 'JWT_ALGORITHM', 'REFRESH_GRACE_SECONDS']) expect(message).toContain(name);
  });

  it('refuses production without real secrets and allows 60 to 900 s access lifetimes only', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/KEY_ENCRYPTION_SECRET[\s\S]*COOKIE_SECRET[\s\S]*PUBLIC_URL/);
    expect(() => loadConfig({ ACCESS_TOKEN_TTL: '901' })).toThrow(ConfigError);
    expect(loadConfig({ ACCESS_TOKEN_TTL: '60' }).jwt.accessTtl).toBe(60);
  });

  it('splits ALLOWED_ORIGINS and reads booleans', () => {
    const c = loadConfig({ ALLOWED_ORIGINS: 'https://app.example.com, https://admin.example.com/', REQUIRE_EMAIL_VERIFICATION: 'true' });
    expect(c.allowedOrigins).toEqual(['https://app.example.com', 'https://admin.example.com']);
    expect(c.requireEmailVerification).toBe(true);
  });
});
