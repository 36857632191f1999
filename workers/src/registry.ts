import { EVENT_TYPES, type EventType } from '../../shared/src/events/schemas';
import type { EventHandler, HandlerRegistry } from './handler';
import { authLoginFailed } from './handlers/auth-login-failed';
import { authLoginSucceeded } from './handlers/auth-login-succeeded';
import { auditExported } from './handlers/audit-exported';
import { authLogout } from './handlers/auth-logout';
import { cacheRebuildRequested } from './handlers/cache-rebuild-requested';
import { membershipRemoved } from './handlers/membership-removed';
import { membershipRoleChanged } from './handlers/membership-role-changed';
import { organizationPermissionsChanged } from './handlers/organization-permissions-changed';
import { organizationReinstated } from './handlers/organization-reinstated';
import { organizationSuspended } from './handlers/organization-suspended';
import { refreshTokenReused } from './handlers/refresh-token-reused';
import { sessionRevoked } from './handlers/session-revoked';
import { userLoggedOutAll } from './handlers/user-logged-out-all';
import { userPasswordChanged } from './handlers/user-password-changed';
import { userReinstated } from './handlers/user-reinstated';
import { userSecurityReset } from './handlers/user-security-reset';
import { userSuspended } from './handlers/user-suspended';

/** Exactly one handler per event type; the mapped type makes a missing or extra entry a compile error. */
export const HANDLERS: HandlerRegistry = {
  'user.password_changed': userPasswordChanged,
  'user.logged_out_all': userLoggedOutAll,
  'user.suspended': userSuspended,
  'user.reinstated': userReinstated,
  'user.security_reset': userSecurityReset,
  'session.revoked': sessionRevoked,
  'refresh_token.reused': refreshTokenReused,
  'membership.role_changed': membershipRoleChanged,
  'membership.removed': membershipRemoved,
  'organization.suspended': organizationSuspended,
  'organization.reinstated': organizationReinstated,
  'organization.permissions_changed': organizationPermissionsChanged,
  'cache.rebuild_requested': cacheRebuildRequested,
  'auth.login_succeeded': authLoginSucceeded,
  'auth.login_failed': authLoginFailed,
  'auth.logout': authLogout,
  'audit.exported': auditExported,
};

/**
 * The startup check: every event type of the shared schema has a handler with both phases, and
 * the registry names no unknown type (it could drift at run time through a bad import or cast).
 */
export function checkRegistry(registry: HandlerRegistry = HANDLERS): void {
  const problems: string[] = [];
  for (const type of EVENT_TYPES) {
    const h = registry[type] as Partial<EventHandler<EventType>> | undefined;
    if (!h || typeof h.apply !== 'function' || typeof h.sync !== 'function') problems.push(`no complete handler for ${type}`);
  }
  for (const type of Object.keys(registry)) {
    if (!(EVENT_TYPES as string[]).includes(type)) problems.push(`handler for unknown event type ${type}`);
  }
  if (problems.length) throw new Error(`Invalid handler registry:\n  ${problems.join('\n  ')}`);
}

/** The handler of a type, typed by it. */
export function handlerFor<T extends EventType>(type: T, registry: HandlerRegistry = HANDLERS): EventHandler<T> {
  return registry[type] as EventHandler<T>;
}
