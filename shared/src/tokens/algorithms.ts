/** The algorithms Latchkey signs access tokens with (JWT_ALGORITHM picks the one new keys get). */
export const SIGNING_ALGORITHMS = ['ES256', 'EdDSA', 'RS256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];
