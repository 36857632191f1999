import { ServiceClient } from '../db/models';
import { randomSecret, sha256 } from '../tokens/sealing';

/** Every scope a service credential can hold. */
export const SERVICE_SCOPES = ['events:write', 'introspect', 'organizations:read', 'organizations:write', 'audit:read'] as const;
export type ServiceScope = (typeof SERVICE_SCOPES)[number];

export const SERVICE_CREDENTIAL_PREFIX = 'lk_svc_';
const CREDENTIAL_FORM = /^lk_svc_[A-Za-z0-9_-]{43}$/;

/** Creates a client; the credential is returned once and only its SHA-256 is stored. */
export async function createServiceClient(name: string, scopes: ServiceScope[]): Promise<{ client: ServiceClient; credential: string }> {
  const credential = `${SERVICE_CREDENTIAL_PREFIX}${randomSecret(32)}`;
  const client = await ServiceClient.create({ name, scopes, secretHash: sha256(credential) });
  return { client, credential };
}

/** Revokes a client by name; true when one was live. */
export async function revokeServiceClient(name: string): Promise<boolean> {
  const [count] = await ServiceClient.update({ revokedAt: new Date() }, { where: { name, revokedAt: null } });
  return count > 0;
}

/** The live client a presented credential belongs to, or undefined. */
export async function findServiceClient(credential: string): Promise<ServiceClient | undefined> {
  if (!CREDENTIAL_FORM.test(credential)) return undefined;
  const client = await ServiceClient.findOne({ where: { secretHash: sha256(credential), revokedAt: null } });
  return client ?? undefined;
}
