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
  initModels(sequelize);
  return sequelize;
}
