import { startHarness, type Harness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

describe('GET /openapi.json', () => {
  it('describes every route of the contract in OpenAPI 3.1', async () => {
    const res = await h.http.get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const ops = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(([p, m]) => Object.keys(m).map((x) => `${x.toUpperCase()} ${p}`));
    for (const op of [
      'POST /auth/register', 'POST /auth/login', 'POST /auth/mfa/verify', 'POST /auth/refresh', 'POST /auth/logout',
      'POST /auth/logout-all', 'POST /auth/password/change', 'POST /auth/switch-organization', 'GET /me', 'GET /sessions',
      'DELETE /sessions/{id}', 'GET /.well-known/jwks.json', 'POST /v1/events', 'GET /v1/events/{id}', 'POST /v1/introspect',
      'PUT /v1/organizations/{id}/roles/{role}', 'GET /v1/audit-logs', 'GET /v1/audit-logs/export', 'GET /v1/audit-logs/verify',
      'GET /v1/audit-logs/{id}', 'GET /console', 'GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json',
      'POST /v1/organizations', 'POST /v1/organizations/{id}/members', 'GET /v1/organizations/{id}/members',
      'POST /auth/mfa/totp/enroll', 'POST /auth/mfa/totp/confirm', 'POST /auth/mfa/totp/disable', 'GET /auth/csrf',
      'POST /auth/password/forgot', 'POST /auth/password/reset', 'POST /auth/email/verify',
    ]) expect(ops).toContain(op);
    // The security team's routes take a user token whose role grants audit:read as well as a service credential.
    expect(res.body.paths['/v1/audit-logs'].get.security).toEqual([{ serviceCredential: [] }, { accessToken: [] }]);
    expect(res.body.paths['/auth/login'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('email');
    expect(res.body.components.schemas.Problem.properties.code.enum).toContain('refresh_token_reused');
  });
});
