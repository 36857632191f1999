/** Every stable public error code of the contract, with its HTTP status and public title. */
export const ERROR_CODES = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  invalid_credentials: { status: 401, title: 'Email or password is incorrect' },
  invalid_token: { status: 401, title: 'The access token is not valid' },
  token_expired: { status: 401, title: 'The access token has expired' },
  token_version_stale: { status: 401, title: 'The access token was issued before a security change' },
  permissions_stale: { status: 401, title: 'The permissions in this token changed; refresh it' },
  session_revoked: { status: 401, title: 'The session has been revoked' },
  session_expired: { status: 401, title: 'The session has expired' },
  user_suspended: { status: 401, title: 'The user is suspended' },
  organization_suspended: { status: 401, title: 'The organization is suspended' },
  membership_inactive: { status: 401, title: 'The membership is not active' },
  refresh_token_reused: { status: 401, title: 'The refresh token was already used; the session is revoked' },
  refresh_token_invalid: { status: 401, title: 'The refresh token is not valid' },
  mfa_invalid: { status: 401, title: 'The verification code is not valid' },
  csrf_invalid: { status: 403, title: 'Cross-site request refused' },
  forbidden: { status: 403, title: 'Not allowed' },
  not_found: { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The request body must be application/json' },
  rate_limited: { status: 429, title: 'Too many requests' },
  service_unavailable: { status: 503, title: 'The service is temporarily unavailable' },
  internal_error: { status: 500, title: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes an access-token check can refuse with; each answers 401 with WWW-Authenticate. */
export type TokenRefusal = Extract<
  ErrorCode,
  | 'invalid_token'
  | 'token_expired'
  | 'session_revoked'
  | 'session_expired'
  | 'user_suspended'
  | 'token_version_stale'
  | 'organization_suspended'
  | 'membership_inactive'
  | 'permissions_stale'
>;
