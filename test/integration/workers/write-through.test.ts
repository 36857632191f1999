import { buildEvent, insertOutboxEvent } from '../../../shared/src/events/outbox';
import type { SecurityEvent } from '../../../shared/src/events/schemas';
import type { HandlerContext, HandlerRegistry } from '../../../workers/src/handler';
import { createWorkerMetrics } from '../../../workers/src/metrics';
import { processJob } from '../../../workers/src/process-event';
import { HANDLERS } from '../../../workers/src/registry';
import { signIn } from '../../support/browser-session';
import type { Harness } from '../../support/harness';
import { addMember, createOrganization, serviceCredential } from '../organizations/fixtures';
import { jobOf, startHandlerRig } from './worker-harness';

/**
 * A revoking event's handler returns its version bumps and revocations (its write-through), and
 * the worker writes them to Redis as soon as the transaction commits, before `sync` rewrites the
 * user's whole state from Postgres (the fast path of G2). Here `sync` is switched off: what the
 * old token meets is the write-through alone. Each token is verified once first, so Redis holds
 * its old state (read-through): a missing write-through would leave it accepted.
 */
let h: Harness;
let ctx: HandlerContext;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ h, ctx, close } = await startHandlerRig());
});
afterAll(() => close());

const withoutSync: HandlerRegistry = Object.fromEntries(
  Object.entries(HANDLERS).map(([type, handler]) => [type, { ...handler, sync: async () => undefined }]),
) as unknown as HandlerRegistry;

async function deliver(type: SecurityEvent['type'], data: Record<string, unknown>, registry = withoutSync, metrics?: ReturnType<typeof createWorkerMetrics>) {
  const event = buildEvent({ type, source: 'service:test', actor: { type: 'service', id: 'test' }, data } as never);
  await h.deps.db.transaction((t) => insertOutboxEvent(h.deps.db, t, event));
  return processJob(jobOf(event, 1), ctx, metrics, registry);
}

async function memberSignedIn(role = 'member') {
  const credential = await serviceCredential(['organizations:write']);
  const orgId = await createOrganization(h, credential, 'Write-through');
  const first = await signIn(h);
  await addMember(h, credential, orgId, first.userId, role);
  const member = await signIn(h, { email: first.email, organizationId: orgId });
  await expect(h.deps.verifier.verify(member.accessToken)).resolves.toMatchObject({ sub: member.userId });
  return { orgId, member };
}

it('a role change: the old token is refused (permissions_stale) from the write-through alone', async () => {
  const { orgId, member } = await memberSignedIn();
  expect(await deliver('membership.role_changed', { organizationId: orgId, userId: member.userId, role: 'viewer' })).toBe('applied');
  await expect(h.deps.verifier.verify(member.accessToken)).rejects.toMatchObject({ code: 'permissions_stale' });
});

it('a removal: the old token is refused (membership_inactive) from the write-through alone', async () => {
  const { orgId, member } = await memberSignedIn();
  expect(await deliver('membership.removed', { organizationId: orgId, userId: member.userId })).toBe('applied');
  await expect(h.deps.verifier.verify(member.accessToken)).rejects.toMatchObject({ code: 'membership_inactive' });
});

it('a suspension: the old token is refused (its session revoked) from the write-through alone', async () => {
  const user = await signIn(h);
  await expect(h.deps.verifier.verify(user.accessToken)).resolves.toMatchObject({ sub: user.userId });
  expect(await deliver('user.suspended', { userId: user.userId })).toBe('applied');
  await expect(h.deps.verifier.verify(user.accessToken)).rejects.toMatchObject({ code: 'session_revoked' });
});

it('a refused role change writes nothing: the token stays accepted', async () => {
  const { orgId, member } = await memberSignedIn();
  await expect(deliver('membership.role_changed', { organizationId: orgId, userId: member.userId, role: 'no-such-role' })).rejects.toThrow(/rejected/);
  await expect(h.deps.verifier.verify(member.accessToken)).resolves.toMatchObject({ sub: member.userId });
});

it('the revocation-lag metric stops at the write-through; the processing lag also counts the sync', async () => {
  const { orgId, member } = await memberSignedIn();
  const slowSync: HandlerRegistry = { ...HANDLERS, 'membership.role_changed': { ...HANDLERS['membership.role_changed'], sync: () => new Promise((r) => setTimeout(r, 300)) } };
  const metrics = createWorkerMetrics();
  expect(await deliver('membership.role_changed', { organizationId: orgId, userId: member.userId, role: 'viewer' }, slowSync, metrics)).toBe('applied');
  const sumOf = async (histogram: typeof metrics.revocationLag) => (await histogram.get()).values.find((v) => v.metricName?.endsWith('_sum'))!.value;
  expect(await sumOf(metrics.processingLag)).toBeGreaterThanOrEqual((await sumOf(metrics.revocationLag)) + 0.25);
});
