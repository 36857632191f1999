import type { Sequelize } from 'sequelize';

/**
 * Forgets sealed refresh-token successors once their grace window has passed: they exist only so
 * that racing tabs get the same successor, and an old sealed successor is needless exposure.
 * Shared by the API's repository and the worker's periodic maintenance job.
 */
export async function dropExpiredSuccessors(db: Sequelize, graceSeconds: number): Promise<number> {
  const [, meta] = await db.query(
    `UPDATE refresh_tokens SET sealed_successor = NULL
     WHERE sealed_successor IS NOT NULL AND used_at < now() - make_interval(secs => :grace)`,
    { replacements: { grace: graceSeconds } },
  );
  return Number((meta as { rowCount?: number })?.rowCount ?? 0);
}
