import { QueryTypes, type Transaction } from 'sequelize';
import { reinstateOrganization } from '../../../shared/src/organizations/membership-changes';
import { signIn } from '../../support/browser-session';
import { startHarness, type Harness } from '../../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

/** Until some statement of this database waits for a lock (the reinstatement, on the organization's row). */
async function untilSomeoneWaits(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const [row] = await h.deps.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      { type: QueryTypes.SELECT },
    );
    if (row!.n > 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('a reinstatement bumps a membership committed while it waited for the organization lock', async () => {
  const [a, b] = [await signIn(h), await signIn(h)];
  const db = h.deps.db;
  const [org] = await db.query<{ id: string }>("INSERT INTO organizations (name, slug, status) VALUES ('o', :slug, 'suspended') RETURNING id", {
    type: QueryTypes.SELECT,
    replacements: { slug: `reinstate-race-${Date.now()}` },
  });
  const join = (userId: string, transaction?: Transaction) =>
    db.query("INSERT INTO memberships (organization_id, user_id, role) VALUES (:o, :u, 'member')", { transaction, replacements: { o: org!.id, u: userId } });
  await join(a.userId);
  // A membership being added holds a key-share lock on the organization's row until it commits.
  const adding = await db.transaction();
  await join(b.userId, adding);
  const reinstating = db.transaction((t) => reinstateOrganization(db, t, org!.id));
  await untilSomeoneWaits();
  await adding.commit();
  expect(await reinstating).toEqual({ previousStatus: 'suspended', memberships: 2 });
  const versions = await db.query<{ permissions_version: number }>('SELECT permissions_version FROM memberships WHERE organization_id = :o', {
    type: QueryTypes.SELECT,
    replacements: { o: org!.id },
  });
  expect(versions.map((v) => v.permissions_version)).toEqual([2, 2]);
});
