import { AppError } from '../../../../../shared/src/errors/app-error';

/** What decides, once the password is proven, whether the user may have a session. */
export interface SignInState {
  status: 'active' | 'suspended';
  passwordResetRequired: boolean;
  emailVerified: boolean;
}

/** A loaded user (the model, or a row) as a SignInState. */
export function signInStateOf(user: { status: 'active' | 'suspended'; passwordResetRequired: boolean; emailVerifiedAt: Date | null }): SignInState {
  return { status: user.status, passwordResetRequired: user.passwordResetRequired, emailVerified: Boolean(user.emailVerifiedAt) };
}

/**
 * The checks that follow a proven password, in one place for every path that opens a session
 * (the password step, the MFA step, and the session insert that finds the user changed under it),
 * so that the paths cannot drift apart. Undefined: the user may sign in.
 */
export function signInRefusal(state: SignInState, requireEmailVerification: boolean): AppError | undefined {
  if (state.status !== 'active') return new AppError('user_suspended');
  if (state.passwordResetRequired) return new AppError('forbidden', { publicDetail: 'A password reset is required before signing in.' });
  if (requireEmailVerification && !state.emailVerified) {
    return new AppError('forbidden', { publicDetail: 'Verify your email address before signing in.' });
  }
  return undefined;
}

/**
 * The answer when the password proof is stale: the user's token version moved since the password
 * was checked (logout-all, a password change or reset), so that proof no longer opens a session.
 * The client's rule for a 401 (sign in again) is exactly what it must do.
 */
export function staleProof(): AppError {
  return new AppError('invalid_credentials', { detail: 'the token version changed after the password was checked' });
}
