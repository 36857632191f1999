import os from 'node:os';
import path from 'node:path';

/**
 * Where the fault suite keeps its state. The database is its own (never the main suite's), and
 * the evidence folder collects every log line, error body, Redis dump and secret of the run for
 * the G7 scan.
 */
export function faultsDatabaseUrl(): string {
  return process.env.FAULTS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/latchkey_faults';
}

export function evidenceDir(): string {
  return process.env.FAULTS_EVIDENCE_DIR ?? path.join(os.tmpdir(), 'latchkey-faults-evidence');
}

/**
 * Names for one run: the global setup picks them (unless set) and exports them to the tests through
 * the environment, so two runs on one machine (a developer's and CI's) never share a database.
 */
export function runNames(run: string): { databaseUrl: string; evidenceDir: string } {
  return {
    databaseUrl: `postgres://postgres@127.0.0.1:5432/latchkey_faults_${run}`,
    evidenceDir: path.join(os.tmpdir(), `latchkey-faults-${run}`),
  };
}

/** How long R3 keeps Redis down: the target's 30 s (FAULTS_REDIS_DOWN_SECONDS shortens it while iterating). */
export const REDIS_DOWN_SECONDS = Number(process.env.FAULTS_REDIS_DOWN_SECONDS ?? 30);

/** How long R4 keeps Postgres unreachable. */
export const POSTGRES_DOWN_SECONDS = Number(process.env.FAULTS_POSTGRES_DOWN_SECONDS ?? 10);

/** The environment every API and worker process of the suite shares (plus its own prefixes and URLs). */
export const PROCESS_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'info',
  MAIL_TRANSPORT: 'file',
  JWT_ISSUER: 'http://localhost:3000',
  JWT_AUDIENCE: 'latchkey-faults',
  PUBLIC_URL: 'http://localhost:3000',
  RATE_LIMIT_SCALE: '1000',
  OUTBOX_RELAY_DELAY: '1',
  WORKER_LOCK_DURATION: '3',
  DATABASE_POOL_MAX: '10',
};

/** A password used by the suite's users (recorded as a secret for the G7 scan). */
export const FAULT_PASSWORD = 'fault suite password 7Qx!';
