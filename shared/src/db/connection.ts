import { Sequelize } from 'sequelize';
import type { Config } from '../config/load-config';
import { initModels } from './models';

/** Opens the Sequelize pool (pg underneath) and registers the models on it. */
export function createDatabase(config: Pick<Config, 'databaseUrl' | 'databasePoolMax'>, poolMax = config.databasePoolMax): Sequelize {
  const sequelize = new Sequelize(config.databaseUrl, {
    dialect: 'postgres',
    logging: false,
    pool: { max: poolMax, min: 0, idle: 10_000, acquire: 5_000 },
    dialectOptions: { connectionTimeoutMillis: 3_000, statement_timeout: 10_000 },
  });
  bindModels(sequelize);
  return sequelize;
}

let boundTo: { sequelize: Sequelize; closed: boolean } | undefined;

/**
 * Sequelize model classes are process-wide: they bind to the first open connection pool. A
 * process normally has one; tests that open a second pool (to cut it) keep the models on the
 * first, and a closed pool hands them to the next one opened.
 */
function bindModels(sequelize: Sequelize): void {
  if (boundTo && !boundTo.closed) return;
  const binding = { sequelize, closed: false };
  const close = sequelize.close.bind(sequelize);
  sequelize.close = async () => {
    binding.closed = true;
    return close();
  };
  initModels(sequelize);
  boundTo = binding;
}
