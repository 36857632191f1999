import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ERROR_BODIES_FILE, LOG_DIR, REDIS_DIR, SECRETS_FILE } from './support/evidence';
import { openDb } from './support/fixtures';
import { SecretScanner, type Hit, type Secret } from './support/secret-scanner';

/**
 * G7, the scan: after every other fault file ran (the sequencer runs this one last), no password,
 * access token, refresh token, reset token, service credential or MFA secret used anywhere in the
 * run appears in a log line of any API or worker process, a Redis value (job payloads included),
 * an audit record, an outbox row, a session row or an error body.
 */
const REQUIRED = ['password', 'access_token', 'refresh_token', 'reset_token', 'service_credential', 'mfa_secret'];

it('the scanner finds a planted secret (the scan can fail)', () => {
  const scanner = new SecretScanner([
    { kind: 'refresh_token', value: 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde' },
    { kind: 'password', value: 'a password with spaces' },
  ]);
  expect(scanner.scan('t', 'cookie=xyzAbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde;').map((h) => h.kind)).toEqual(['refresh_token']);
  expect(scanner.scan('t', '{"msg":"a password with spaces"}').map((h) => h.kind)).toEqual(['password']);
  expect(scanner.scan('t', 'AbCdEfGhIjKlMnO and nothing else')).toEqual([]);
});

it('G7: no secret of the run in any log line, job payload, audit record, outbox row or error body', async () => {
  expect(existsSync(SECRETS_FILE())).toBe(true);
  const secrets: Secret[] = readFileSync(SECRETS_FILE(), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const kinds = new Map<string, number>();
  for (const s of secrets) kinds.set(s.kind, (kinds.get(s.kind) ?? 0) + 1);
  for (const kind of REQUIRED) expect([kind, kinds.get(kind) ?? 0]).toEqual([kind, expect.any(Number)]);
  for (const kind of REQUIRED) expect(kinds.get(kind) ?? 0).toBeGreaterThan(0);
  const scanner = new SecretScanner(secrets);
  const hits: Hit[] = [];
  const sizes = { logFiles: 0, logLines: 0, redisFiles: 0, redisValues: 0, errorBodies: 0, auditRows: 0, eventRows: 0, sessionRows: 0 };

  for (const name of readdirSync(LOG_DIR())) {
    const text = readFileSync(path.join(LOG_DIR(), name), 'utf8');
    sizes.logFiles++;
    sizes.logLines += text.split('\n').length - 1;
    hits.push(...scanner.scan(`log ${name}`, text));
  }
  for (const name of readdirSync(REDIS_DIR())) {
    const text = readFileSync(path.join(REDIS_DIR(), name), 'utf8');
    sizes.redisFiles++;
    sizes.redisValues += text.split('\n').length - 1;
    hits.push(...scanner.scan(`redis ${name}`, text));
  }
  if (existsSync(ERROR_BODIES_FILE())) {
    const text = readFileSync(ERROR_BODIES_FILE(), 'utf8');
    sizes.errorBodies = text.split('\n').length - 1;
    hits.push(...scanner.scan('error bodies', text));
  }
  const db = openDb();
  try {
    for (const [table, key] of [['audit_logs', 'auditRows'], ['events', 'eventRows'], ['sessions', 'sessionRows']] as const) {
      const { rows } = await db.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${table} t`);
      sizes[key] = rows.length;
      hits.push(...scanner.scan(`postgres ${table}`, rows.map((r) => r.row).join('\n')));
    }
  } finally {
    await db.end();
  }

  console.log(
    `G7 secrets=${secrets.length} (${[...kinds].map(([k, n]) => `${k}:${n}`).join(' ')}) log_files=${sizes.logFiles} log_lines=${sizes.logLines} ` +
      `redis_values=${sizes.redisValues} error_bodies=${sizes.errorBodies} audit_rows=${sizes.auditRows} event_rows=${sizes.eventRows} ` +
      `session_rows=${sizes.sessionRows} leaks=${hits.length}`,
  );
  expect(sizes.logLines).toBeGreaterThan(0);
  expect(sizes.redisValues).toBeGreaterThan(0);
  expect(sizes.auditRows).toBeGreaterThan(0);
  expect(hits.slice(0, 20)).toEqual([]);
});
