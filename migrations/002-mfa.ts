import type { Migration } from '../shared/src/db/migrator';

/** TOTP second factor: a sealed secret per user, replay protection, single-use recovery codes. */
export const up: Migration = async ({ context: sql }) => {
  await sql.query(`
    ALTER TABLE users
      ADD COLUMN mfa_secret_sealed bytea,
      ADD COLUMN mfa_pending_secret_sealed bytea,
      ADD COLUMN mfa_enabled_at timestamptz,
      ADD COLUMN mfa_last_time_step bigint NOT NULL DEFAULT 0;

    CREATE TABLE mfa_recovery_codes (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      code_hash bytea NOT NULL UNIQUE,
      used_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX mfa_recovery_codes_user_idx ON mfa_recovery_codes (user_id);
  `);
};

export const down: Migration = async ({ context: sql }) => {
  await sql.query(`
    DROP TABLE IF EXISTS mfa_recovery_codes;
    ALTER TABLE users DROP COLUMN mfa_secret_sealed, DROP COLUMN mfa_pending_secret_sealed,
      DROP COLUMN mfa_enabled_at, DROP COLUMN mfa_last_time_step;
  `);
};
