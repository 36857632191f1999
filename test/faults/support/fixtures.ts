import { randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { hashPassword } from '../../../shared/src/security/passwords';
import { sha256 } from '../../../shared/src/tokens/sealing';
import { recordSecret } from './evidence';
import { FAULT_PASSWORD, faultsDatabaseUrl } from './fault-env';

/**
 * Direct Postgres access for setting up and checking fault tests (straight to Postgres, never
 * through the proxy a test may cut). Bulk fixtures are inserted here to keep the suite quick;
 * everything under test goes through the real processes.
 */
export function openDb(): Pool {
  return new Pool({ connectionString: faultsDatabaseUrl(), max: 4 });
}

/** A service client credential with `scopes`, stored hashed as the CLI stores it. */
export async function serviceCredential(db: Pool, scopes: string[]): Promise<string> {
  const credential = `lk_svc_${randomBytes(32).toString('base64url')}`;
  await db.query('INSERT INTO service_clients (name, secret_hash, scopes) VALUES ($1, $2, $3)', [
    `faults-${randomUUID().slice(0, 8)}`,
    sha256(credential),
    scopes,
  ]);
  recordSecret('service_credential', credential);
  return credential;
}

let passwordHash: Promise<string> | undefined;

/** `n` active users with FAULT_PASSWORD (one argon2id hash shared by all); returns ids and emails. */
export async function createUsers(db: Pool, n: number, tag: string): Promise<Array<{ id: string; email: string }>> {
  passwordHash ??= hashPassword(FAULT_PASSWORD);
  recordSecret('password', FAULT_PASSWORD);
  const hash = await passwordHash;
  const emails = Array.from({ length: n }, (_, i) => `${tag}-${i}-${randomUUID().slice(0, 8)}@faults.test`);
  const { rows } = await db.query<{ id: string; email: string }>(
    `INSERT INTO users (email, email_normalized, name, password_hash)
     SELECT e, e, 'Fault User', $2 FROM unnest($1::text[]) AS e RETURNING id, email`,
    [emails, hash],
  );
  return rows;
}

/** An organization with every given user as an active member of `role`; returns ids. */
export async function createOrganization(
  db: Pool,
  userIds: string[],
  role = 'member',
): Promise<{ organizationId: string; memberships: Array<{ id: string; userId: string }> }> {
  const slug = `faults-${randomUUID().slice(0, 12)}`;
  const { rows } = await db.query<{ id: string }>('INSERT INTO organizations (name, slug) VALUES ($1, $1) RETURNING id', [slug]);
  const organizationId = rows[0]!.id;
  const members = await db.query<{ id: string; user_id: string }>(
    `INSERT INTO memberships (organization_id, user_id, role)
     SELECT $1, u, $3 FROM unnest($2::uuid[]) AS u RETURNING id, user_id`,
    [organizationId, userIds, role],
  );
  return { organizationId, memberships: members.rows.map((m) => ({ id: m.id, userId: m.user_id })) };
}

/** Polls `check` every 100 ms until it returns a truthy value or `timeoutMs` passes. */
export async function until<T>(check: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
