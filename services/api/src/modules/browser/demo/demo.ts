/**
 * The demo page's script (served as /demo/demo.js): every browser-facing flow of the contract,
 * driven through the published client at /client/latchkey.js (the bundler keeps that import
 * external, so the demo exercises exactly what apps load). Renders with textContent only.
 */
import { LatchkeyError, createLatchkey, type LatchkeyState } from '../client/latchkey';

const client = createLatchkey({ name: 'latchkey-demo' });
// The demo (not the client) exposes its client so the browser tests can drive tab races.
(window as unknown as { latchkeyDemo: unknown }).latchkeyDemo = { client };

function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`missing #${id}`);
  return found as T;
}

function value(id: string): string {
  return el<HTMLInputElement>(id).value;
}

function say(text: string, kind: 'ok' | 'error' = 'ok'): void {
  const box = el('message');
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
}

function describe(err: unknown): string {
  if (err instanceof LatchkeyError) return `${err.message} (${err.code})`;
  return err instanceof Error ? err.message : String(err);
}

/** Runs a UI action, reporting its failure in the message box instead of throwing. */
function action(fn: () => Promise<void>): () => void {
  return () => {
    fn().catch((err: unknown) => say(describe(err), 'error'));
  };
}

function onSubmit(id: string, fn: () => Promise<void>): void {
  el<HTMLFormElement>(id).addEventListener('submit', (event) => {
    event.preventDefault();
    action(fn)();
  });
}

async function showMe(): Promise<void> {
  el('me').textContent = JSON.stringify(await client.me(), null, 2);
  el('refresh-count').textContent = String(client.refreshCount);
}

async function showSessions(): Promise<void> {
  const { sessions } = await client.sessions();
  const body = el('sessions');
  body.replaceChildren();
  for (const s of sessions) {
    const row = document.createElement('tr');
    row.dataset.sessionId = s.id;
    if (s.current) row.className = 'current';
    for (const text of [
      `${String(s.deviceName ?? s.userAgent ?? 'unknown device').slice(0, 60)}${s.current ? ' (this one)' : ''}`,
      String(s.ip ?? ''),
      new Date(String(s.lastUsedAt)).toLocaleString(),
      new Date(String(s.expiresAt)).toLocaleDateString(),
    ]) {
      const cell = document.createElement('td');
      cell.textContent = text;
      row.append(cell);
    }
    const cell = document.createElement('td');
    const revoke = document.createElement('button');
    revoke.type = 'button';
    revoke.className = 'revoke danger';
    revoke.textContent = 'Revoke';
    revoke.addEventListener(
      'click',
      action(async () => {
        await client.revokeSession(s.id);
        say('Session revoked.');
        if (client.current.status === 'signed-in') await showSessions();
      }),
    );
    cell.append(revoke);
    row.append(cell);
    body.append(row);
  }
}

function render(state: LatchkeyState): void {
  const status = el('status');
  status.dataset.state = state.status;
  el('signed-in').hidden = state.status !== 'signed-in';
  el('signed-out').hidden = state.status !== 'signed-out';
  if (state.status === 'signed-in') {
    status.textContent = `Signed in as ${state.user.email}`;
  } else {
    status.textContent = 'Signed out';
    el('me').textContent = '';
    el('sessions').replaceChildren();
  }
}

async function loadSignedIn(): Promise<void> {
  await showMe();
  await showSessions();
}

onSubmit('signin-form', async () => {
  const result = await client.signIn(value('signin-email'), value('signin-password'), { deviceName: 'Latchkey demo' });
  if (result.mfaRequired) {
    const code = window.prompt('Enter the code from your authenticator app') ?? '';
    await client.verifyMfa(result.challengeId, code);
  }
  el<HTMLFormElement>('signin-form').reset();
  el('message').hidden = true;
  await loadSignedIn();
});

onSubmit('signup-form', async () => {
  const email = value('signup-email');
  await client.register(email, value('signup-password'), value('signup-name') || undefined);
  el<HTMLFormElement>('signup-form').reset();
  el<HTMLInputElement>('signin-email').value = email;
  say('Account created (check the mail outbox to verify it). You can sign in now.');
});

onSubmit('password-form', async () => {
  await client.changePassword(value('password-current'), value('password-new'));
  el<HTMLFormElement>('password-form').reset();
  say('Password changed. Every other session was signed out.');
  await loadSignedIn();
});

el('reload-me').addEventListener('click', action(showMe));
el('reload-sessions').addEventListener('click', action(showSessions));
el('signout').addEventListener(
  'click',
  action(async () => {
    await client.signOut();
    say('Signed out.');
  }),
);
el('signout-all').addEventListener(
  'click',
  action(async () => {
    await client.signOutEverywhere();
    say('Signed out on every device.');
  }),
);

let previous: LatchkeyState['status'] = 'signed-out';
client.subscribe((state) => {
  render(state);
  el('refresh-count').textContent = String(client.refreshCount);
  const manual = state.status === 'signed-out' && (state.reason === 'signed_out' || state.reason === 'signed_out_everywhere');
  if (previous === 'signed-in' && state.status === 'signed-out') {
    say(manual ? 'Signed out.' : `Your session ended (${state.reason}). Please sign in again.`, manual ? 'ok' : 'error');
  }
  previous = state.status;
});

client
  .restore()
  .then(async (state) => {
    render(state);
    if (state.status === 'signed-in') await loadSignedIn();
  })
  .catch((err: unknown) => {
    render(client.current);
    say(describe(err), 'error');
  })
  .finally(() => {
    document.body.dataset.ready = 'true';
  });
