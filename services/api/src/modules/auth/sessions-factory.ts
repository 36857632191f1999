import type { Transaction } from 'sequelize';
import { Session } from '../../../../../shared/src/db/models';
import type { ApiDeps } from '../../deps';
import type { RequestContext } from '../../http/request-context';
import { RefreshTokensRepository } from './refresh-tokens.repository';

/** Opens a session (one per sign-in per device) with a fresh refresh token family. */
export async function openSession(
  deps: ApiDeps,
  t: Transaction,
  input: { userId: string; organizationId?: string; membershipId?: string; deviceName?: string },
  ctx: RequestContext,
): Promise<{ session: Session; refreshToken: string }> {
  const now = Date.now();
  const { idleTtl, absoluteTtl } = deps.config.refresh;
  const session = await Session.create(
    {
      userId: input.userId,
      organizationId: input.organizationId ?? null,
      membershipId: input.membershipId ?? null,
      deviceName: input.deviceName ?? null,
      userAgent: ctx.userAgent ?? null,
      ip: ctx.ip ?? null,
      idleExpiresAt: new Date(now + idleTtl * 1000),
      expiresAt: new Date(now + absoluteTtl * 1000),
    },
    { transaction: t },
  );
  const { token } = await new RefreshTokensRepository(deps.db).issue(t, session.id);
  return { session, refreshToken: token };
}
