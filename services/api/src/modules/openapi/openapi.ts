import { z } from 'zod';
import { ERROR_CODES } from '../../../../../shared/src/errors/codes';
import { PUBLIC_EVENT_TYPES } from '../../../../../shared/src/events/schemas';
import { exportQuery, listQuery, verifyQuery } from '../audit/audit.schemas';
import { loginBody, registerBody, switchOrganizationBody } from '../auth/auth.schemas';
import { postEventsBody } from '../events/events.schemas';
import { confirmBody, disableBody, enrollBody, verifyBody } from '../mfa/mfa.schemas';
import { addMemberBody, createOrganizationBody, putRoleBody } from '../organizations/organizations.schemas';
import { changePasswordBody, forgotPasswordBody, resetPasswordBody, verifyEmailBody } from '../passwords/passwords.schemas';

/** `member`: a service credential with the scope, or a user access token whose role grants the permission. */
type Auth = 'none' | 'bearer' | 'cookie' | 'service' | 'member';
interface Operation {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  summary: string;
  auth: Auth;
  scope?: string;
  /** For `member`: the permission a user's role must grant (one of them). */
  permission?: string;
  body?: z.ZodType;
  query?: z.ZodObject;
  ok: { status: number; description: string; schema?: Record<string, unknown>; contentType?: string };
}

const loginResponse = {
  type: 'object',
  required: ['accessToken', 'tokenType', 'expiresIn', 'session', 'user'],
  properties: {
    accessToken: { type: 'string' },
    tokenType: { const: 'Bearer' },
    expiresIn: { type: 'integer' },
    session: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } } },
    user: { $ref: '#/components/schemas/User' },
    organization: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } },
  },
};
const signedIn = { status: 200, description: 'Signed in (refresh cookie set where one is issued)', schema: loginResponse };
const noContent = { status: 204, description: 'Done' };

/** Every route of the contract (section 3), documented once. */
const OPERATIONS: Operation[] = [
  { method: 'post', path: '/auth/register', summary: 'Register (same answer for known addresses)', auth: 'none', body: registerBody, ok: { status: 202, description: 'Accepted', schema: { type: 'object', properties: { status: { const: 'accepted' } } } } },
  { method: 'post', path: '/auth/login', summary: 'Sign in with a password', auth: 'none', body: loginBody, ok: { ...signedIn, description: 'Signed in, or `{mfaRequired, challengeId}`' } },
  { method: 'post', path: '/auth/mfa/verify', summary: 'Second factor of a sign-in', auth: 'none', body: verifyBody, ok: signedIn },
  { method: 'post', path: '/auth/mfa/totp/enroll', summary: 'Start TOTP enrolment', auth: 'bearer', body: enrollBody, ok: { status: 200, description: '`{secret, otpauthUri}`' } },
  { method: 'post', path: '/auth/mfa/totp/confirm', summary: 'Confirm TOTP; returns ten recovery codes', auth: 'bearer', body: confirmBody, ok: { status: 200, description: '`{recoveryCodes}`' } },
  { method: 'post', path: '/auth/mfa/totp/disable', summary: 'Disable TOTP', auth: 'bearer', body: disableBody, ok: noContent },
  { method: 'get', path: '/auth/csrf', summary: 'CSRF token (sets the secret cookie)', auth: 'none', ok: { status: 200, description: '`{csrfToken}`' } },
  { method: 'post', path: '/auth/refresh', summary: 'Rotate the refresh token (cookie + X-CSRF-Token)', auth: 'cookie', ok: signedIn },
  { method: 'post', path: '/auth/logout', summary: 'Revoke this session (cookie + X-CSRF-Token, or Bearer)', auth: 'cookie', ok: noContent },
  { method: 'post', path: '/auth/logout-all', summary: 'Revoke every session of the user', auth: 'bearer', ok: noContent },
  { method: 'post', path: '/auth/password/change', summary: 'Change the password; other sessions revoked', auth: 'bearer', body: changePasswordBody, ok: signedIn },
  { method: 'post', path: '/auth/password/forgot', summary: 'Mail a reset link (same answer for unknown addresses)', auth: 'none', body: forgotPasswordBody, ok: { status: 202, description: 'Accepted' } },
  { method: 'post', path: '/auth/password/reset', summary: 'Reset with a mailed token; every session revoked', auth: 'none', body: resetPasswordBody, ok: noContent },
  { method: 'post', path: '/auth/email/verify', summary: 'Verify the email address', auth: 'none', body: verifyEmailBody, ok: noContent },
  { method: 'post', path: '/auth/switch-organization', summary: 'A new access token in another organization, same session', auth: 'bearer', body: switchOrganizationBody, ok: signedIn },
  { method: 'get', path: '/me', summary: 'The user, organization, membership and permissions of the token', auth: 'bearer', ok: { status: 200, description: 'Me' } },
  { method: 'get', path: '/sessions', summary: "The user's live sessions", auth: 'bearer', ok: { status: 200, description: '`{sessions}`' } },
  { method: 'delete', path: '/sessions/{id}', summary: 'Revoke one of my sessions', auth: 'bearer', ok: noContent },
  { method: 'get', path: '/.well-known/jwks.json', summary: 'Public signing keys', auth: 'none', ok: { status: 200, description: 'JWKS' } },
  { method: 'post', path: '/v1/events', summary: 'Publish security events (stored before the 202)', auth: 'service', scope: 'events:write', body: postEventsBody, ok: { status: 202, description: '`{eventIds}`' } },
  { method: 'get', path: '/v1/events/{id}', summary: 'Processing status of an event', auth: 'service', scope: 'events:write', ok: { status: 200, description: '`{id, type, status, processedAt?, error?}`' } },
  { method: 'post', path: '/v1/introspect', summary: 'RFC 7662 token introspection', auth: 'service', scope: 'introspect', body: z.strictObject({ token: z.string() }), ok: { status: 200, description: '`{active, ...}`' } },
  { method: 'post', path: '/v1/organizations', summary: 'Create an organization', auth: 'service', scope: 'organizations:write', body: createOrganizationBody, ok: { status: 201, description: 'Created' } },
  { method: 'post', path: '/v1/organizations/{id}/members', summary: 'Add a member', auth: 'member', scope: 'organizations:write', permission: 'members:manage', body: addMemberBody, ok: { status: 201, description: 'Created' } },
  { method: 'get', path: '/v1/organizations/{id}/members', summary: 'List members with roles', auth: 'member', scope: 'organizations:read', permission: 'members:read', ok: { status: 200, description: 'Members' } },
  { method: 'put', path: '/v1/organizations/{id}/roles/{role}', summary: 'Define or change a custom role', auth: 'member', scope: 'organizations:write', permission: 'members:manage', body: putRoleBody, ok: { status: 200, description: 'The role (201 when it was created)' } },
  { method: 'get', path: '/v1/audit-logs', summary: 'Search the audit log (newest first, cursor pages)', auth: 'member', scope: 'audit:read', permission: 'audit:read', query: listQuery, ok: { status: 200, description: '`{items, nextCursor}`' } },
  { method: 'get', path: '/v1/audit-logs/export', summary: 'Stream the audit log as NDJSON or CSV', auth: 'member', scope: 'audit:read', permission: 'audit:read', query: exportQuery, ok: { status: 200, description: 'A stream' } },
  { method: 'get', path: '/v1/audit-logs/verify', summary: 'Check the hash chain', auth: 'member', scope: 'audit:read', permission: 'audit:read', query: verifyQuery, ok: { status: 200, description: '`{ok, checked, firstBrokenId?}`' } },
  { method: 'get', path: '/v1/audit-logs/{id}', summary: 'One audit record', auth: 'member', scope: 'audit:read', permission: 'audit:read', ok: { status: 200, description: 'The record' } },
  { method: 'get', path: '/v1/audit-logs/users/{userId}/sessions', summary: "A user's sessions, for an investigation", auth: 'member', scope: 'audit:read', permission: 'audit:read', ok: { status: 200, description: '`{sessions}`' } },
  { method: 'get', path: '/console', summary: 'The security console (search, export, sessions, chain status)', auth: 'none', ok: { status: 200, description: 'A web page', contentType: 'text/html' } },
  { method: 'get', path: '/console/memberships', summary: "The console's organizations of the signed-in user", auth: 'bearer', ok: { status: 200, description: '`{memberships}`' } },
  { method: 'get', path: '/healthz', summary: 'The process answers', auth: 'none', ok: { status: 200, description: 'Alive' } },
  { method: 'get', path: '/readyz', summary: 'Postgres, Redis, queue and migrations are ready', auth: 'none', ok: { status: 200, description: 'Ready (503 when not)' } },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', auth: 'none', ok: { status: 200, description: 'Prometheus text', contentType: 'text/plain' } },
  { method: 'get', path: '/openapi.json', summary: 'This document', auth: 'none', ok: { status: 200, description: 'OpenAPI 3.1' } },
];

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });

const SECURITY: Record<Auth, Array<Record<string, string[]>>> = {
  none: [],
  bearer: [{ accessToken: [] }],
  cookie: [{ refreshCookie: [] }, { accessToken: [] }],
  service: [{ serviceCredential: [] }],
  member: [{ serviceCredential: [] }, { accessToken: [] }],
};

/** Builds the OpenAPI 3.1 document of the whole API (served at `/openapi.json`). */
export function buildOpenApi(serverUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const parameters = [
      ...[...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
      ...Object.entries(op.query ? (jsonSchema(op.query).properties ?? {}) : {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
    ];
    (paths[op.path] ??= {})[op.method] = {
      summary: op.summary,
      security: SECURITY[op.auth],
      ...(op.scope ? { 'x-required-scope': op.scope } : {}),
      ...(op.permission ? { 'x-required-permission': op.permission } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body) } } } } : {}),
      responses: {
        [op.ok.status]: {
          description: op.ok.description,
          ...(op.ok.schema ? { content: { 'application/json': { schema: op.ok.schema } } } : {}),
          ...(op.ok.contentType ? { content: { [op.ok.contentType]: {} } } : {}),
        },
        default: { description: 'An error', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Latchkey', version: '0.1.0', description: 'Authentication backend for multi-tenant SaaS.' },
    servers: [{ url: serverUrl }],
    paths,
    components: {
      securitySchemes: {
        accessToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (typ at+jwt)' },
        serviceCredential: { type: 'http', scheme: 'bearer', description: 'A service credential `lk_svc_...`' },
        refreshCookie: { type: 'apiKey', in: 'cookie', name: '__Host-lk_rt', description: 'With the X-CSRF-Token header' },
      },
      schemas: {
        User: { type: 'object', properties: { id: { type: 'string', format: 'uuid' }, email: { type: 'string' }, name: { type: ['string', 'null'] }, emailVerified: { type: 'boolean' } } },
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'code', 'requestId'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            code: { enum: Object.keys(ERROR_CODES) },
            detail: { type: 'string' },
            requestId: { type: 'string' },
          },
        },
        EventType: { enum: PUBLIC_EVENT_TYPES },
      },
    },
  };
}
