import { QueryTypes } from 'sequelize';
import { AppError } from '../../../shared/src/errors/app-error';
import type { EventHandler } from '../handler';

/**
 * `cache.rebuild_requested`: Redis verification state rewritten from Postgres for one user, one
 * organization or everyone (StateSync never lowers a version, so a rebuild cannot undo a change).
 * The rebuild itself is the `sync` phase, so every delivery repeats it.
 */
export const cacheRebuildRequested: EventHandler<'cache.rebuild_requested'> = {
  async apply(event, t, ctx) {
    const data = event.data;
    if (data.scope !== 'all') {
      const table = data.scope === 'user' ? 'users' : 'organizations';
      const rows = await ctx.db.query(`SELECT 1 FROM ${table} WHERE id = :id`, { type: QueryTypes.SELECT, transaction: t, replacements: { id: data.id } });
      if (rows.length === 0) throw new AppError('not_found', { detail: `${data.scope} ${data.id} does not exist` });
    }
    return {
      severity: 'info',
      userId: data.scope === 'user' ? data.id : null,
      organizationId: data.scope === 'organization' ? data.id : null,
      details: { scope: data.scope },
    };
  },
  async sync(event, ctx) {
    const sync = ctx.stateSync;
    const data = event.data;
    if (data.scope === 'all') await sync.all();
    else if (data.scope === 'user') await sync.user(data.id);
    else await sync.organization(data.id);
  },
};
