import type { Sequelize } from 'sequelize';
import { User } from './user';
import { Organization } from './organization';
import { Role } from './role';
import { Membership } from './membership';
import { Session } from './session';
import { ServiceClient } from './service-client';

export { User, Organization, Role, Membership, Session, ServiceClient };

/** Registers every model on a Sequelize instance (once per process). */
export function initModels(sequelize: Sequelize): void {
  for (const model of [User, Organization, Role, Membership, Session, ServiceClient]) model.initModel(sequelize);
}
