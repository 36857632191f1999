import type { SecurityEvent } from '../../../../../shared/src/events/schemas';
import type { RevocationResult } from '../../../../../shared/src/security/revocations';
import type { ApiDeps } from '../../deps';
import { publishAfterCommit } from '../events/publish-after-commit';

/**
 * What a request does once its revocation has committed (G1). The events go to the queue first, so
 * the worker's fan-out never waits for the outbox relay because the write-through failed; then Redis
 * is written through before the caller answers. A failed write-through still fails the request (503):
 * the caller must not take the revocation for effective everywhere, and retries it.
 */
export async function afterRevocationCommit(
  deps: Pick<ApiDeps, 'producer' | 'logger' | 'revocations'>,
  revocation: RevocationResult | undefined,
  events: SecurityEvent[],
): Promise<void> {
  publishAfterCommit(deps, events);
  if (revocation) await deps.revocations.writeThrough(revocation);
}
