import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { QueryTypes } from 'sequelize';
import type { Harness } from '../../support/harness';
import { unlinkMatching } from '../../../shared/src/redis/nodes';

/** Latchkey listening on a real port, so JWKS and introspection go over HTTP like in production. */
export async function listen(h: Harness): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = h.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, server, close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Waits until the worker has settled an event; returns the type of its one audit record. */
export async function eventSettled(h: Harness, eventId: string, attempts = 200): Promise<string> {
  for (let i = 0; i < attempts; i++) {
    const [row] = await h.deps.db.query<{ type: string }>('SELECT type FROM audit_logs WHERE event_id = :eventId', {
      type: QueryTypes.SELECT,
      replacements: { eventId },
    });
    if (row) return row.type;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`event ${eventId} not settled`);
}

/** Removes every verification key of a user from Redis (as a flush or an expiry would). */
export async function dropUserKeys(h: Harness, userId: string): Promise<void> {
  await unlinkMatching(h.deps.redis, `${h.prefix}:{u:${userId}}:*`);
}
