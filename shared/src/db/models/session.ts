import { DataTypes, Model, type Sequelize, type InferAttributes, type InferCreationAttributes, type CreationOptional } from 'sequelize';

/** One sign-in on one device; owns one refresh token family. Once revoked, never live again. */
export class Session extends Model<InferAttributes<Session>, InferCreationAttributes<Session>> {
  declare id: CreationOptional<string>;
  declare userId: string;
  declare organizationId: string | null;
  declare membershipId: string | null;
  declare deviceName: string | null;
  declare userAgent: string | null;
  declare ip: string | null;
  declare createdAt: CreationOptional<Date>;
  declare lastUsedAt: CreationOptional<Date>;
  declare idleExpiresAt: Date;
  declare expiresAt: Date;
  declare revokedAt: CreationOptional<Date | null>;
  declare revokeReason: CreationOptional<string | null>;

  static initModel(sequelize: Sequelize): void {
    Session.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        userId: { type: DataTypes.UUID, allowNull: false },
        organizationId: { type: DataTypes.UUID },
        membershipId: { type: DataTypes.UUID },
        deviceName: { type: DataTypes.TEXT },
        userAgent: { type: DataTypes.TEXT },
        ip: { type: DataTypes.TEXT },
        createdAt: DataTypes.DATE,
        lastUsedAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
        idleExpiresAt: { type: DataTypes.DATE, allowNull: false },
        expiresAt: { type: DataTypes.DATE, allowNull: false },
        revokedAt: { type: DataTypes.DATE },
        revokeReason: { type: DataTypes.TEXT },
      },
      { sequelize, tableName: 'sessions', underscored: true, updatedAt: false },
    );
  }
}
