import { DataTypes, Model, type Sequelize, type InferAttributes, type InferCreationAttributes, type CreationOptional } from 'sequelize';

/** A product backend's credential (`lk_svc_...`), stored as a SHA-256 hash, with its scopes. */
export class ServiceClient extends Model<InferAttributes<ServiceClient>, InferCreationAttributes<ServiceClient>> {
  declare id: CreationOptional<string>;
  declare name: string;
  declare secretHash: Buffer;
  declare scopes: string[];
  declare createdAt: CreationOptional<Date>;
  declare revokedAt: CreationOptional<Date | null>;

  static initModel(sequelize: Sequelize): void {
    ServiceClient.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        name: { type: DataTypes.TEXT, allowNull: false, unique: true },
        secretHash: { type: DataTypes.BLOB, allowNull: false },
        scopes: { type: DataTypes.ARRAY(DataTypes.TEXT), allowNull: false },
        createdAt: DataTypes.DATE,
        revokedAt: { type: DataTypes.DATE },
      },
      { sequelize, tableName: 'service_clients', underscored: true, updatedAt: false },
    );
  }
}
