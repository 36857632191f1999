import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * P3's bare baseline: the transaction a rotation cannot avoid, of the same shape as Latchkey's and
 * nothing else, through `pg`: lock the presented token's row by its hash, insert the successor,
 * mark the parent used. Returns the successor (raw); throws when the token is unknown or used.
 */
export async function bareRotation(pool: Pool, current: string): Promise<string> {
  const successor = randomBytes(32).toString('base64url');
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const locked = await client.query<{ id: string; session_id: string }>(
      'SELECT id, session_id FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NULL FOR UPDATE',
      [sha256(current)],
    );
    const row = locked.rows[0];
    if (!row) throw new Error('token not found or used');
    await client.query('INSERT INTO refresh_tokens (session_id, token_hash, parent_id) VALUES ($1, $2, $3)', [row.session_id, sha256(successor), row.id]);
    await client.query('UPDATE refresh_tokens SET used_at = now() WHERE id = $1', [row.id]);
    await client.query('COMMIT');
    return successor;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
