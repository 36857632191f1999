import type { LimitRule } from './rate-limiter';

/**
 * Every limit in one place. Account limits key on the normalised email (hashed), IP limits on the
 * client address. Lockouts are temporary by construction: a window always ends.
 */
export const LIMITS = {
  /** Failed sign-ins per account: 10 in 15 minutes locks the account for the rest of the window (≤ 40/h < 100/h). */
  loginFailuresPerAccount: { name: 'login-fail-acct', limit: 10, windowSeconds: 900 },
  /** Failed sign-ins from one address across all accounts (credential stuffing). */
  loginFailuresPerIp: { name: 'login-fail-ip', limit: 50, windowSeconds: 900 },
  /** Sign-in attempts from one address, successful or not. */
  loginAttemptsPerIp: { name: 'login-ip', limit: 120, windowSeconds: 60 },
  mfaAttemptsPerAccount: { name: 'mfa-acct', limit: 10, windowSeconds: 900 },
  mfaAttemptsPerIp: { name: 'mfa-ip', limit: 60, windowSeconds: 900 },
  forgotPerAccount: { name: 'forgot-acct', limit: 5, windowSeconds: 3600 },
  forgotPerIp: { name: 'forgot-ip', limit: 30, windowSeconds: 3600 },
  registerPerIp: { name: 'register-ip', limit: 30, windowSeconds: 3600 },
  refreshPerIp: { name: 'refresh-ip', limit: 600, windowSeconds: 60 },
} as const satisfies Record<string, LimitRule>;

/** Wrong codes allowed for one MFA challenge before it is burnt. */
export const MFA_CHALLENGE_ATTEMPTS = 5;
