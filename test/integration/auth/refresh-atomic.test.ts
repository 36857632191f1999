import { QueryTypes } from 'sequelize';
import { startHarness, type Harness } from '../../support/harness';
import { refresh, signIn, type BrowserSession } from '../../support/browser-session';

/**
 * The rotation runs as one statement (lock, insert successor, mark parent, slide session): it is
 * all or nothing, and a refusal writes nothing.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ REFRESH_GRACE_SECONDS: '2' });
});
afterAll(() => h.close());

interface FamilyState {
  tokens: number;
  unused: number;
  sealed: number;
  lastUsedAt: string | null;
  idleExpiresAt: string;
}

async function familyState(sessionId: string): Promise<FamilyState> {
  const [row] = await h.deps.db.query<{ tokens: string; unused: string; sealed: string; last_used_at: string | null; idle_expires_at: string }>(
    `SELECT count(rt.id) AS tokens, count(rt.id) FILTER (WHERE rt.used_at IS NULL) AS unused,
            count(rt.id) FILTER (WHERE rt.sealed_successor IS NOT NULL) AS sealed,
            s.last_used_at::text, s.idle_expires_at::text
     FROM sessions s LEFT JOIN refresh_tokens rt ON rt.session_id = s.id WHERE s.id = :id GROUP BY s.id`,
    { type: QueryTypes.SELECT, replacements: { id: sessionId } },
  );
  return { tokens: Number(row!.tokens), unused: Number(row!.unused), sealed: Number(row!.sealed), lastUsedAt: row!.last_used_at, idleExpiresAt: row!.idle_expires_at };
}

const rtOf = (s: BrowserSession) => s.jar.get('__Host-lk_rt')!;

describe('one-statement refresh rotation', () => {
  it('a rotation that fails half-way (the session slide refused by Postgres) leaves nothing written', async () => {
    const s = await signIn(h);
    const before = await familyState(s.sessionId);
    expect(before).toMatchObject({ tokens: 1, unused: 1, sealed: 0 });
    const trigger = `lk_test_fail_slide_${s.sessionId.replace(/-/g, '')}`;
    // A real Postgres failure in the middle of the rotation, for this session only.
    await h.deps.db.query(`
      CREATE FUNCTION ${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.id = '${s.sessionId}' THEN RAISE EXCEPTION 'test: slide refused'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER ${trigger} BEFORE UPDATE ON sessions FOR EACH ROW EXECUTE FUNCTION ${trigger}();`);
    try {
      const failed = await refresh(h, s);
      expect(failed.status).toBe(500);
      expect(failed.body.code).toBe('internal_error');
      expect((failed.headers['set-cookie'] as unknown as string[] | undefined)?.join(';') ?? '').not.toContain('__Host-lk_rt=');
      // No successor inserted, the parent not marked used, no sealed successor, the session not slid.
      expect(await familyState(s.sessionId)).toEqual(before);
    } finally {
      await h.deps.db.query(`DROP TRIGGER ${trigger} ON sessions; DROP FUNCTION ${trigger}();`);
    }
    // The same token still rotates, once, as an unused token does.
    const first = rtOf(s);
    const ok = await refresh(h, s);
    expect(ok.status).toBe(200);
    expect(rtOf(s)).not.toBe(first);
    const after = await familyState(s.sessionId);
    expect(after).toMatchObject({ tokens: 2, unused: 1, sealed: 1 });
    expect(after.lastUsedAt).not.toBeNull();
  });

  it('a refused refresh (suspended user, expired session) writes nothing', async () => {
    const suspended = await signIn(h);
    await h.deps.db.query("UPDATE users SET status = 'suspended' WHERE id = :id", { replacements: { id: suspended.userId } });
    const beforeSuspended = await familyState(suspended.sessionId);
    const refused = await refresh(h, suspended);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('user_suspended');
    expect(await familyState(suspended.sessionId)).toEqual(beforeSuspended);

    const expired = await signIn(h);
    await h.deps.db.query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = :id", { replacements: { id: expired.sessionId } });
    const beforeExpired = await familyState(expired.sessionId);
    const late = await refresh(h, expired);
    expect(late.status).toBe(401);
    expect(late.body.code).toBe('session_expired');
    expect(await familyState(expired.sessionId)).toEqual(beforeExpired);
  });

  it('a rotation slides the session and the successor rotates in turn; the parent then gets the same successor within the window', async () => {
    const s = await signIn(h);
    const parent = s.jar.header();
    const before = await familyState(s.sessionId);
    const first = await refresh(h, s);
    expect(first.status).toBe(200);
    const after = await familyState(s.sessionId);
    expect(after).toMatchObject({ tokens: 2, unused: 1, sealed: 1 });
    expect(after.lastUsedAt).not.toBeNull();
    expect(new Date(after.idleExpiresAt).getTime()).toBeGreaterThanOrEqual(new Date(before.idleExpiresAt).getTime());

    // The parent again, within the grace window: the same successor, nothing new written.
    const again = await h.http.post('/auth/refresh').set('Cookie', parent).set('X-CSRF-Token', s.csrf);
    expect(again.status).toBe(200);
    expect((again.headers['set-cookie'] as unknown as string[]).join(';')).toContain(`__Host-lk_rt=${rtOf(s)};`);
    expect(await familyState(s.sessionId)).toMatchObject({ tokens: 2, unused: 1 });

    // The successor rotates as an unused token.
    expect((await refresh(h, s)).status).toBe(200);
    expect(await familyState(s.sessionId)).toMatchObject({ tokens: 3, unused: 1 });
  });
});
