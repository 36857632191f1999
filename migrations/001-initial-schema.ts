import type { Migration } from '../shared/src/db/migrator';

/** Users, organizations, roles, memberships, sessions, refresh families, keys, clients, outbox, audit. */
export const up: Migration = async ({ context: sql }) => {
  await sql.query(`
    CREATE TABLE users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email text NOT NULL,
      email_normalized text NOT NULL UNIQUE,
      name text,
      password_hash text NOT NULL,
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
      token_version integer NOT NULL DEFAULT 1 CHECK (token_version > 0),
      email_verified_at timestamptz,
      password_reset_required boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE organizations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      slug text NOT NULL UNIQUE,
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    -- organization_id NULL: a built-in role, shared by every organization.
    CREATE TABLE roles (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid REFERENCES organizations(id) ON DELETE CASCADE,
      name text NOT NULL,
      permissions text[] NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE NULLS NOT DISTINCT (organization_id, name)
    );

    CREATE TABLE memberships (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      role text NOT NULL,
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'removed')),
      permissions_version integer NOT NULL DEFAULT 1 CHECK (permissions_version > 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (organization_id, user_id)
    );
    CREATE INDEX memberships_user_idx ON memberships (user_id);

    -- A session is one sign-in on one device, and owns exactly one refresh token family.
    CREATE TABLE sessions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      organization_id uuid REFERENCES organizations(id) ON DELETE SET NULL,
      membership_id uuid REFERENCES memberships(id) ON DELETE SET NULL,
      device_name text,
      user_agent text,
      ip text,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz NOT NULL DEFAULT now(),
      idle_expires_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz,
      revoke_reason text
    );
    CREATE INDEX sessions_user_live_idx ON sessions (user_id) WHERE revoked_at IS NULL;

    CREATE TABLE refresh_tokens (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      token_hash bytea NOT NULL UNIQUE,
      parent_id uuid REFERENCES refresh_tokens(id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      used_at timestamptz,
      -- The successor, sealed with a key derived from this token, kept only for the grace window.
      sealed_successor bytea
    );
    CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
    CREATE INDEX refresh_tokens_sealed_idx ON refresh_tokens (used_at) WHERE sealed_successor IS NOT NULL;

    CREATE TABLE signing_keys (
      kid text PRIMARY KEY,
      alg text NOT NULL,
      public_jwk jsonb NOT NULL,
      private_jwk_sealed bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      retired_at timestamptz
    );

    CREATE TABLE service_clients (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL UNIQUE,
      secret_hash bytea NOT NULL UNIQUE,
      scopes text[] NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz
    );

    CREATE TABLE one_time_tokens (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      purpose text NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
      token_hash bytea NOT NULL UNIQUE,
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    );

    -- The transactional outbox: a row per security event, written with the change it describes.
    CREATE TABLE events (
      id uuid PRIMARY KEY,
      type text NOT NULL,
      version integer NOT NULL DEFAULT 1,
      occurred_at timestamptz NOT NULL,
      source text NOT NULL,
      actor_type text NOT NULL,
      actor_id text NOT NULL,
      request_id text,
      idempotency_key text,
      ip text,
      user_agent text,
      data jsonb NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processed', 'failed')),
      enqueued_at timestamptz,
      processed_at timestamptz,
      error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (source, idempotency_key)
    );
    CREATE INDEX events_pending_idx ON events (created_at) WHERE status = 'pending';

    CREATE TABLE audit_logs (
      id bigserial PRIMARY KEY,
      event_id uuid UNIQUE,
      type text NOT NULL,
      severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
      occurred_at timestamptz NOT NULL,
      actor_type text NOT NULL,
      actor_id text,
      user_id uuid,
      organization_id uuid,
      session_id uuid,
      ip text,
      user_agent text,
      request_id text,
      details jsonb NOT NULL DEFAULT '{}',
      prev_hash bytea,
      hash bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX audit_logs_user_idx ON audit_logs (user_id, id DESC);
    CREATE INDEX audit_logs_org_idx ON audit_logs (organization_id, id DESC);
    CREATE INDEX audit_logs_type_idx ON audit_logs (type text_pattern_ops, id DESC);

    -- Built-in roles. Product permissions are examples a product extends with custom roles.
    INSERT INTO roles (organization_id, name, permissions) VALUES
      (NULL, 'owner', ARRAY['*']),
      (NULL, 'admin', ARRAY['members:manage', 'audit:read', 'sessions:manage', 'reports:read', 'reports:write', 'projects:read', 'projects:write']),
      (NULL, 'member', ARRAY['reports:read', 'reports:write', 'projects:read', 'projects:write']),
      (NULL, 'viewer', ARRAY['reports:read', 'projects:read']),
      (NULL, 'auditor', ARRAY['audit:read']);
  `);
};

export const down: Migration = async ({ context: sql }) => {
  await sql.query(`
    DROP TABLE IF EXISTS audit_logs, events, one_time_tokens, service_clients, signing_keys,
      refresh_tokens, sessions, memberships, roles, organizations, users CASCADE;
  `);
};
