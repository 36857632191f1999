import { UniqueConstraintError, type Sequelize } from 'sequelize';
import type { Config } from '../../../shared/src/config/load-config';
import { createMigrator, migrateToLatest } from '../../../shared/src/db/migrator';
import type { Logger } from '../../../shared/src/logging/logger';
import { rebuildCache } from './cache-rebuild';
import { SERVICE_SCOPES, createServiceClient, revokeServiceClient, type ServiceScope } from '../../../shared/src/security/service-credentials';
import { createSigningKey, loadSigningKeys, rotateSigningKeys } from '../../../shared/src/tokens/signing-keys';

export interface CliContext {
  config: Config;
  db: Sequelize;
  flags: Record<string, string | true>;
  logger: Logger;
  out(line: string): void;
}

export interface CliCommand {
  name: string;
  help: string;
  run(ctx: CliContext): Promise<number>;
}

function flag(ctx: CliContext, name: string): string {
  const value = ctx.flags[name];
  if (typeof value !== 'string' || !value) throw new Error(`--${name} is required`);
  return value;
}

/** Every operator command; each is small and does one thing. */
export const COMMANDS: CliCommand[] = [
  {
    name: 'cache rebuild',
    help: '[--user ID | --organization ID | --all]: rewrite Redis verification state from Postgres',
    run: (ctx) => rebuildCache(ctx),
  },
  {
    name: 'migrate down',
    help: 'revert the latest migration',
    async run(ctx) {
      const reverted = await createMigrator(ctx.db).down();
      ctx.out(reverted.length ? `reverted ${reverted.map((m) => m.name).join(', ')}` : 'nothing to revert');
      return 0;
    },
  },
  {
    name: 'migrate',
    help: 'apply pending migrations',
    async run(ctx) {
      const applied = await migrateToLatest(ctx.db);
      ctx.out(applied.length ? `applied ${applied.join(', ')}` : 'schema is current');
      return 0;
    },
  },
  {
    name: 'keys ensure',
    help: 'create a signing key only if none is active (first deployment)',
    async run(ctx) {
      const { jwt } = ctx.config;
      const keys = await loadSigningKeys(ctx.db, jwt.keyEncryptionSecret, jwt.keyVerifyWindow);
      if (keys.some((k) => k.alg === jwt.algorithm && !k.retiredAt)) {
        ctx.out('an active signing key exists');
        return 0;
      }
      ctx.out(`signing key ${await createSigningKey(ctx.db, jwt.algorithm, jwt.keyEncryptionSecret)} (${jwt.algorithm}) created`);
      return 0;
    },
  },
  {
    name: 'keys rotate',
    help: 'add a signing key; retire the previous ones; drop those past their window',
    async run(ctx) {
      const { jwt } = ctx.config;
      const { kid, deleted } = await rotateSigningKeys(ctx.db, jwt.algorithm, jwt.keyEncryptionSecret, jwt.keyVerifyWindow);
      ctx.out(`signing key ${kid} (${jwt.algorithm}) is now active; ${deleted} expired key(s) removed`);
      return 0;
    },
  },
  {
    name: 'service-client create',
    help: '--name NAME --scopes a,b: prints the credential once',
    async run(ctx) {
      const scopes = flag(ctx, 'scopes').split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = scopes.filter((s) => !(SERVICE_SCOPES as readonly string[]).includes(s));
      if (unknown.length || scopes.length === 0) throw new Error(`unknown scope(s) ${unknown.join(', ')}; known: ${SERVICE_SCOPES.join(', ')}`);
      const name = flag(ctx, 'name');
      const { credential } = await createServiceClient(name, scopes as ServiceScope[]).catch((err: unknown) => {
        if (err instanceof UniqueConstraintError) throw new Error(`a service client named ${name} exists already (names are never reused, even revoked ones): pick another name`);
        throw err;
      });
      ctx.out(credential);
      return 0;
    },
  },
  {
    name: 'service-client revoke',
    help: '--name NAME',
    async run(ctx) {
      const revoked = await revokeServiceClient(flag(ctx, 'name'));
      ctx.out(revoked ? 'revoked' : 'no live client of that name');
      return revoked ? 0 : 1;
    },
  },
];
