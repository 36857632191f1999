import { DataTypes, Model, type Sequelize, type InferAttributes, type InferCreationAttributes, type CreationOptional } from 'sequelize';

/** A person who signs in. `tokenVersion` only ever goes up; bumping it revokes every access token. */
export class User extends Model<InferAttributes<User>, InferCreationAttributes<User>> {
  declare id: CreationOptional<string>;
  declare email: string;
  declare emailNormalized: string;
  declare name: string | null;
  declare passwordHash: string;
  declare status: CreationOptional<'active' | 'suspended'>;
  declare tokenVersion: CreationOptional<number>;
  declare emailVerifiedAt: Date | null;
  declare passwordResetRequired: CreationOptional<boolean>;
  declare mfaSecretSealed: CreationOptional<Buffer | null>;
  declare mfaPendingSecretSealed: CreationOptional<Buffer | null>;
  declare mfaEnabledAt: CreationOptional<Date | null>;
  declare mfaLastTimeStep: CreationOptional<number>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): void {
    User.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        email: { type: DataTypes.TEXT, allowNull: false },
        emailNormalized: { type: DataTypes.TEXT, allowNull: false, unique: true },
        name: { type: DataTypes.TEXT },
        passwordHash: { type: DataTypes.TEXT, allowNull: false },
        status: { type: DataTypes.TEXT, allowNull: false, defaultValue: 'active' },
        tokenVersion: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
        emailVerifiedAt: { type: DataTypes.DATE },
        passwordResetRequired: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        mfaSecretSealed: { type: DataTypes.BLOB },
        mfaPendingSecretSealed: { type: DataTypes.BLOB },
        mfaEnabledAt: { type: DataTypes.DATE },
        mfaLastTimeStep: { type: DataTypes.BIGINT, allowNull: false, defaultValue: 0, get() { return Number(this.getDataValue('mfaLastTimeStep')); } },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'users', underscored: true },
    );
  }
}
