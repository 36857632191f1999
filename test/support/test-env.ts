/** The environment the test suite runs with (a database of its own; the rest local defaults). */
export const TEST_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  DATABASE_URL: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/latchkey_test',
  REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  LOG_LEVEL: 'silent',
  MAIL_TRANSPORT: 'file',
  JWT_ISSUER: 'http://localhost:3000',
  JWT_AUDIENCE: 'latchkey-test',
  PUBLIC_URL: 'http://localhost:3000',
  RATE_LIMIT_SCALE: '1000',
};
