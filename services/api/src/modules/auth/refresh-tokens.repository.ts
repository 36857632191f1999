import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { rawQuery } from '../../../../../shared/src/db/raw-connection';
import { dropExpiredSuccessors } from '../../../../../shared/src/security/refresh-successors';
import { deriveKey, randomSecret, seal, sha256, unseal } from '../../../../../shared/src/tokens/sealing';

/** A refresh token row locked with its session, user and membership, as rotation sees it. */
export interface RefreshRow {
  id: string;
  used_at: Date | null;
  /** Milliseconds since `used_at` by Postgres's clock, the one that set it (null when unused). */
  used_ms_ago: number | null;
  sealed_successor: Buffer | null;
  session_id: string;
  user_id: string;
  revoked_at: Date | null;
  expires_at: Date;
  idle_expires_at: Date;
  organization_id: string | null;
  membership_id: string | null;
  user_status: 'active' | 'suspended';
  token_version: number;
  email: string;
  name: string | null;
  email_verified_at: Date | null;
  organization_name: string | null;
  membership_status: 'active' | 'removed' | null;
  permissions_version: number | null;
  organization_status: 'active' | 'suspended' | null;
}

const LOCK_BY_HASH = `
  SELECT rt.id, rt.used_at, (extract(epoch FROM clock_timestamp() - rt.used_at) * 1000)::float8 AS used_ms_ago, rt.sealed_successor, s.id AS session_id, s.user_id, s.revoked_at, s.expires_at,
         s.idle_expires_at, s.organization_id, s.membership_id, u.status AS user_status, u.token_version,
         u.email, u.name, u.email_verified_at, o.name AS organization_name,
         m.status AS membership_status, m.permissions_version, o.status AS organization_status
  FROM refresh_tokens rt
  JOIN sessions s ON s.id = rt.session_id
  JOIN users u ON u.id = s.user_id
  LEFT JOIN memberships m ON m.id = s.membership_id
  LEFT JOIN organizations o ON o.id = s.organization_id
  WHERE rt.token_hash = :hash
  FOR UPDATE OF rt, s`;

/** What the one-statement rotation returns: the locked row as it was, and whether it was rotated. */
export interface RotationRow extends RefreshRow {
  /** True when the successor was inserted, the parent marked used and the session slid. */
  rotated: boolean;
  /** The session's new idle expiry (when rotated). */
  slid_idle_expires_at: Date | null;
}

/**
 * The whole rotation in one statement (one round trip, atomic by itself): lock the presented
 * token's row and its session (as LOCK_BY_HASH, so rotation, reuse handling and revocation stay
 * serialised), and only when the token is unused, its family live and unexpired at $4 (the
 * caller's clock, the same instant it judges the returned row with) and its user, organization
 * and membership active: insert the successor ($2, its hash), mark the parent used with the
 * successor sealed under it ($3), slide the session's idle expiry by $5 seconds (capped by the
 * absolute expiry). Under READ COMMITTED a statement that waited for the lock sees the row as the
 * winner left it (FOR UPDATE returns the newest version), so a racing refresh finds it used.
 * Every outcome but a rotation writes nothing, and returns the locked row for the caller to judge.
 */
const ROTATE_BY_HASH = `
  WITH locked AS (${LOCK_BY_HASH.replace(':hash', '$1')}),
  successor AS (
    INSERT INTO refresh_tokens (session_id, token_hash, parent_id)
    SELECT session_id, $2::bytea, id FROM locked
    WHERE used_at IS NULL AND revoked_at IS NULL AND expires_at > $4::timestamptz AND idle_expires_at > $4::timestamptz
      AND user_status = 'active'
      AND (membership_id IS NULL OR (organization_status = 'active' AND membership_status = 'active'))
    RETURNING parent_id, session_id
  ),
  parent AS (
    UPDATE refresh_tokens SET used_at = now(), sealed_successor = $3::bytea
    WHERE id = (SELECT parent_id FROM successor)
  ),
  slid AS (
    UPDATE sessions SET last_used_at = now(), idle_expires_at = LEAST(now() + make_interval(secs => $5::double precision), expires_at)
    WHERE id = (SELECT session_id FROM successor)
    RETURNING idle_expires_at
  )
  SELECT locked.*, EXISTS (SELECT 1 FROM successor) AS rotated, (SELECT idle_expires_at FROM slid) AS slid_idle_expires_at
  FROM locked`;

/** How far `followSuccessors` walks a chain of rotations that all happened within the grace window. */
const MAX_CHAIN = 8;

/** Storage of refresh tokens: only hashes, plus a successor sealed under its parent for the grace window. */
export class RefreshTokensRepository {
  constructor(private readonly db: Sequelize) {}

  /** Issues a new token in a session's family; returns the raw token (never stored). */
  async issue(t: Transaction, sessionId: string, parentId: string | null = null): Promise<{ id: string; token: string }> {
    const token = randomSecret(32);
    const [row] = await this.db.query<{ id: string }>(
      'INSERT INTO refresh_tokens (session_id, token_hash, parent_id) VALUES (:sessionId, :hash, :parentId) RETURNING id',
      { type: QueryTypes.SELECT, transaction: t, replacements: { sessionId, hash: sha256(token), parentId } },
    );
    return { id: row!.id, token };
  }

  /** Locks the token's row and its session (serialising rotation with revocation). */
  async lock(t: Transaction, token: string): Promise<RefreshRow | undefined> {
    const [row] = await this.db.query<RefreshRow>(LOCK_BY_HASH, { type: QueryTypes.SELECT, transaction: t, replacements: { hash: sha256(token) } });
    return row;
  }

  /**
   * Rotates `token` in one round trip (ROTATE_BY_HASH) when it is rotatable at `now`: returns the
   * locked row with `rotated`, and the successor (raw, never stored) that was issued if it was.
   * Undefined when no token has that hash.
   */
  async rotate(token: string, now: number, idleTtlSeconds: number): Promise<{ row: RotationRow; successor: string } | undefined> {
    const successor = randomSecret(32);
    const sealed = seal(Buffer.from(successor), deriveKey(token, 'refresh-successor'));
    const [row] = await rawQuery<RotationRow>(this.db, {
      name: 'lk_refresh_rotate',
      text: ROTATE_BY_HASH,
      values: [sha256(token), sha256(successor), sealed, new Date(now), idleTtlSeconds],
    });
    return row ? { row, successor } : undefined;
  }

  /** Marks the parent used and keeps its successor sealed with a key only the parent's holder can derive. */
  async markUsed(t: Transaction, parent: { id: string; token: string }, successor: string): Promise<void> {
    const sealed = seal(Buffer.from(successor), deriveKey(parent.token, 'refresh-successor'));
    await this.db.query('UPDATE refresh_tokens SET used_at = now(), sealed_successor = :sealed WHERE id = :id', {
      transaction: t,
      replacements: { id: parent.id, sealed },
    });
  }

  /** Opens the successor sealed under `token`, or undefined when it cannot be opened. */
  openSuccessor(row: Pick<RefreshRow, 'sealed_successor'>, token: string): string | undefined {
    if (!row.sealed_successor) return undefined;
    try {
      return unseal(row.sealed_successor, deriveKey(token, 'refresh-successor')).toString();
    } catch {
      return undefined;
    }
  }

  /**
   * The newest token of `row`'s chain of rotations, all within the grace window: opens each
   * successor sealed under its parent in turn, locking it, to the first one not used yet. Undefined
   * when the chain breaks (a successor no longer sealed, a token used longer ago than the window, or
   * retired by a password change without one) or is longer than MAX_CHAIN.
   */
  async followSuccessors(t: Transaction, row: RefreshRow, token: string, graceMs: number): Promise<{ row: RefreshRow; token: string } | undefined> {
    let current = { row, token };
    for (let i = 0; i < MAX_CHAIN; i++) {
      const next = this.openSuccessor(current.row, current.token);
      if (!next) return undefined;
      const nextRow = await this.lock(t, next);
      if (!nextRow || nextRow.session_id !== row.session_id) return undefined;
      current = { row: nextRow, token: next };
      if (!nextRow.used_at) return current;
      if (nextRow.used_ms_ago! > graceMs) return undefined;
    }
    return undefined;
  }

  /** Forgets sealed successors once their grace window has passed (they are only for racing tabs). */
  async dropExpiredSuccessors(graceSeconds: number): Promise<number> {
    return dropExpiredSuccessors(this.db, graceSeconds);
  }
}
