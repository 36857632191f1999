import type { Migration } from '../shared/src/db/migrator';

/**
 * The audit log becomes append-only, range-partitioned by month of `created_at` (the time the
 * record was written, under the chain lock, so partition order follows chain order and retention
 * can drop whole old partitions without leaving holes in the middle of the chain).
 *
 * - `created_at` defaults to clock_timestamp() (not the transaction start): appends are serialised
 *   by the chain lock, so created_at grows with id.
 * - The primary key of a partitioned table must hold the partition key: (id, created_at). The
 *   global uniqueness of `event_id` (one record per event) moves to `audit_event_ids`, filled by a
 *   trigger, because a unique index on a partitioned table cannot leave out created_at.
 * - `type_family` (the type up to its first dot) makes `type=refresh_token.*` an equality that an
 *   index ordered by id can serve.
 * - Triggers refuse UPDATE, DELETE and TRUNCATE on the log, the event-id index and the retention
 *   anchors, for every role (also the owner) unless a superuser disables triggers; and an INSERT
 *   made without holding the chain lock (audit-writer.ts AUDIT_CHAIN_LOCK) is refused, which is what
 *   keeps ids visible in increasing order (the pagination guarantee, see audit-query.ts).
 * - `audit_chain_anchors` keeps, for each retention cut, the id and hash of the last dropped record,
 *   so the first remaining record still links to something verifiable.
 */
export const up: Migration = async ({ context: sql }) => {
  await sql.query(`
    ALTER TABLE audit_logs RENAME TO audit_logs_unpartitioned;
    ALTER TABLE audit_logs_unpartitioned RENAME CONSTRAINT audit_logs_pkey TO audit_logs_unpartitioned_pkey;
    ALTER TABLE audit_logs_unpartitioned RENAME CONSTRAINT audit_logs_event_id_key TO audit_logs_unpartitioned_event_id_key;
    DROP INDEX audit_logs_user_idx, audit_logs_org_idx, audit_logs_type_idx;
    ALTER SEQUENCE audit_logs_id_seq OWNED BY NONE;

    CREATE TABLE audit_logs (
      id bigint NOT NULL DEFAULT nextval('audit_logs_id_seq'),
      event_id uuid,
      type text NOT NULL,
      type_family text GENERATED ALWAYS AS (split_part(type, '.', 1)) STORED,
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
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      PRIMARY KEY (id, created_at)
    ) PARTITION BY RANGE (created_at);
    ALTER SEQUENCE audit_logs_id_seq OWNED BY audit_logs.id;

    -- Every filter of the contract, each ending in id DESC so "newest first" pages are index scans.
    CREATE INDEX audit_logs_event_idx ON audit_logs (event_id) WHERE event_id IS NOT NULL;
    CREATE INDEX audit_logs_user_idx ON audit_logs (user_id, id DESC) WHERE user_id IS NOT NULL;
    CREATE INDEX audit_logs_org_idx ON audit_logs (organization_id, id DESC) WHERE organization_id IS NOT NULL;
    CREATE INDEX audit_logs_session_idx ON audit_logs (session_id, id DESC) WHERE session_id IS NOT NULL;
    CREATE INDEX audit_logs_type_idx ON audit_logs (type, id DESC);
    CREATE INDEX audit_logs_family_idx ON audit_logs (type_family, id DESC);
    CREATE INDEX audit_logs_org_family_idx ON audit_logs (organization_id, type_family, id DESC) WHERE organization_id IS NOT NULL;
    CREATE INDEX audit_logs_occurred_idx ON audit_logs (occurred_at);
    CREATE INDEX audit_logs_user_occurred_idx ON audit_logs (user_id, occurred_at) WHERE user_id IS NOT NULL;

    -- Catches a write whose month has no partition yet (the maintenance job creates months ahead).
    CREATE TABLE audit_logs_default PARTITION OF audit_logs DEFAULT;

    CREATE TABLE audit_event_ids (
      event_id uuid PRIMARY KEY,
      audit_id bigint NOT NULL
    );

    CREATE TABLE audit_chain_anchors (
      id bigserial PRIMARY KEY,
      last_dropped_id bigint NOT NULL,
      last_dropped_hash bytea NOT NULL,
      partition_name text NOT NULL,
      dropped_rows bigint NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$;

    CREATE FUNCTION audit_require_chain_lock() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT EXISTS (
        SELECT 1 FROM pg_locks
        WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
          AND mode = 'ExclusiveLock' AND classid = 19531 AND objid = 1 AND objsubid = 2
      ) THEN
        RAISE EXCEPTION 'audit_logs: insert without the chain lock refused' USING ERRCODE = 'insufficient_privilege';
      END IF;
      RETURN NULL;
    END $$;

    CREATE FUNCTION audit_index_event_id() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO audit_event_ids (event_id, audit_id) VALUES (NEW.event_id, NEW.id);
      RETURN NULL;
    END $$;

    CREATE TRIGGER audit_logs_chain_lock BEFORE INSERT ON audit_logs
      FOR EACH STATEMENT EXECUTE FUNCTION audit_require_chain_lock();
    CREATE TRIGGER audit_logs_event_id AFTER INSERT ON audit_logs
      FOR EACH ROW WHEN (NEW.event_id IS NOT NULL) EXECUTE FUNCTION audit_index_event_id();
    CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
      FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
    CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
      FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
    CREATE TRIGGER audit_event_ids_append_only BEFORE UPDATE OR DELETE ON audit_event_ids
      FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
    CREATE TRIGGER audit_event_ids_no_truncate BEFORE TRUNCATE ON audit_event_ids
      FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
    CREATE TRIGGER audit_chain_anchors_append_only BEFORE UPDATE OR DELETE ON audit_chain_anchors
      FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
    CREATE TRIGGER audit_chain_anchors_no_truncate BEFORE TRUNCATE ON audit_chain_anchors
      FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
  `);

  // Monthly partitions from the oldest existing record's month to three months ahead (UTC).
  await sql.query(`
    DO $$
    DECLARE
      m timestamptz := date_trunc('month', COALESCE((SELECT min(created_at) FROM audit_logs_unpartitioned), now()) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
      last timestamptz := (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '3 months') AT TIME ZONE 'UTC';
    BEGIN
      WHILE m <= last LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF audit_logs FOR VALUES FROM (%L) TO (%L)',
          'audit_logs_' || to_char(m AT TIME ZONE 'UTC', 'YYYY_MM'), m, ((m AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC');
        m := ((m AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
      END LOOP;
    END $$;

    SELECT pg_advisory_xact_lock(19531, 1);
    INSERT INTO audit_logs (id, event_id, type, severity, occurred_at, actor_type, actor_id, user_id, organization_id,
      session_id, ip, user_agent, request_id, details, prev_hash, hash, created_at)
    SELECT id, event_id, type, severity, occurred_at, actor_type, actor_id, user_id, organization_id,
      session_id, ip, user_agent, request_id, details, prev_hash, hash, created_at
    FROM audit_logs_unpartitioned ORDER BY id;
    DROP TABLE audit_logs_unpartitioned;
  `);
};

export const down: Migration = async ({ context: sql }) => {
  await sql.query(`
    ALTER SEQUENCE audit_logs_id_seq OWNED BY NONE;
    ALTER TABLE audit_logs RENAME TO audit_logs_partitioned;
    ALTER TABLE audit_logs_partitioned RENAME CONSTRAINT audit_logs_pkey TO audit_logs_partitioned_pkey;
    CREATE TABLE audit_logs (
      id bigint PRIMARY KEY DEFAULT nextval('audit_logs_id_seq'),
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
    INSERT INTO audit_logs (id, event_id, type, severity, occurred_at, actor_type, actor_id, user_id, organization_id,
      session_id, ip, user_agent, request_id, details, prev_hash, hash, created_at)
    SELECT id, event_id, type, severity, occurred_at, actor_type, actor_id, user_id, organization_id,
      session_id, ip, user_agent, request_id, details, prev_hash, hash, created_at
    FROM audit_logs_partitioned ORDER BY id;
    ALTER SEQUENCE audit_logs_id_seq OWNED BY audit_logs.id;
    DROP TABLE audit_logs_partitioned;
    DROP TABLE audit_event_ids, audit_chain_anchors;
    DROP FUNCTION audit_refuse_change(), audit_require_chain_lock(), audit_index_event_id();
    CREATE INDEX audit_logs_user_idx ON audit_logs (user_id, id DESC);
    CREATE INDEX audit_logs_org_idx ON audit_logs (organization_id, id DESC);
    CREATE INDEX audit_logs_type_idx ON audit_logs (type text_pattern_ops, id DESC);
  `);
};
