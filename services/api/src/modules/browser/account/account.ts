/**
 * The pages the mailed links open (one page, served at `/verify-email?token=…` and
 * `/reset-password?token=…`; this script is /account/account.js). The token is a secret: it is read from the address and taken out of
 * the address bar and the history at once, kept in memory only, and posted to the API as JSON.
 */

function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`missing #${id}`);
  return found as T;
}

function say(text: string, kind: 'ok' | 'error' | 'working'): void {
  const box = el('message');
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
}

/** POSTs JSON; resolves to null on success, else what the problem says (its public detail, or its title). */
async function post(path: string, body: unknown): Promise<string | null> {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.ok) return null;
  const problem = (await res.json().catch(() => ({}))) as { title?: string; detail?: string };
  if (problem.detail?.includes('newPassword')) return 'Choose another password: 12 to 128 characters, and not a common one.';
  return problem.detail ?? problem.title ?? `HTTP ${res.status}`;
}

async function verifyEmail(token: string): Promise<void> {
  say('Verifying your email address…', 'working');
  const refused = await post('/auth/email/verify', { token });
  say(refused ?? 'Your email address is verified. You can close this page.', refused ? 'error' : 'ok');
}

function resetPassword(token: string): void {
  const form = el<HTMLFormElement>('reset-form');
  form.hidden = false;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const newPassword = el<HTMLInputElement>('new-password').value;
    say('Changing your password…', 'working');
    post('/auth/password/reset', { token, newPassword })
      .then((refused) => {
        if (!refused) {
          form.hidden = true;
          say('Your password is changed and every session was signed out. Sign in with the new password.', 'ok');
        } else say(refused, 'error');
      })
      .catch(() => say('The server could not be reached. Try again.', 'error'));
  });
}

const reset = location.pathname === '/reset-password';
document.title = el('title').textContent = reset ? 'Choose a new password' : 'Verify your email address';
const token = new URLSearchParams(location.search).get('token') ?? '';
history.replaceState(null, '', location.pathname);
if (!token) say('This link has no token. Open the link from the message again.', 'error');
else if (reset) resetPassword(token);
else verifyEmail(token).catch(() => say('The server could not be reached. Reload the page to try again.', 'error'));
document.body.dataset.ready = 'true';
