// The audit console: plain script, no inline code (CSP). The access token lives in this closure
// only: never in storage, never in a URL. A 401 sends the reviewer back to the sign-in form.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const state = { token: null, organizationId: null, pages: [null], page: 0, nextCursor: null, shownUser: null };

  function setStatus(message, isError) {
    const el = $('status');
    el.textContent = message || '';
    el.className = isError ? 'error' : '';
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(path, options) {
    const opts = options || {};
    const headers = Object.assign({ Accept: 'application/json' }, opts.headers || {});
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(path, { method: opts.method || 'GET', headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), credentials: 'same-origin' });
    if (!res.ok) {
      let problem = {};
      try { problem = await res.json(); } catch (e) { /* not JSON */ }
      const err = new ApiError(res.status, problem.code || 'error', problem.detail || problem.title || ('HTTP ' + res.status));
      if (res.status === 401 && state.token) signOut('Your session ended (' + err.code + '). Please sign in again.');
      throw err;
    }
    return opts.raw ? res : res.json();
  }

  function show(el, visible) { el.hidden = !visible; }

  function signOut(message) {
    state.token = null;
    state.organizationId = null;
    show($('workspace'), false);
    show($('signin'), true);
    show($('org-form'), false);
    show($('signin-form'), true);
    show($('sign-out'), false);
    $('whoami').textContent = '';
    $('password').value = '';
    setStatus(message || '', Boolean(message));
    $('email').focus();
  }

  async function openOrganization(organizationId, label) {
    const body = await api('/auth/switch-organization', { method: 'POST', body: { organizationId } });
    state.token = body.accessToken;
    state.organizationId = organizationId;
    $('whoami').textContent = 'Signed in as ' + body.user.email + ' · ' + label;
    // defaultValue: a form reset ("Clear") keeps the organization the reviewer is confined to.
    $('f-org').defaultValue = organizationId;
    $('f-org').value = organizationId;
    $('f-org').readOnly = true;
    show($('signin'), false);
    show($('workspace'), true);
    show($('sign-out'), true);
    setStatus('');
    await search(null, true);
    $('f-user').focus();
  }

  async function signIn(event) {
    event.preventDefault();
    setStatus('Signing in…');
    try {
      const body = await api('/auth/login', { method: 'POST', body: { email: $('email').value, password: $('password').value, deviceName: 'Audit console' } });
      $('password').value = '';
      if (body.mfaRequired) {
        setStatus('This account uses a second factor; sign in through the application first (the console does not handle MFA yet).', true);
        return;
      }
      state.token = body.accessToken;
      const { memberships } = await api('/console/memberships');
      const auditable = memberships.filter((m) => m.auditRead);
      if (auditable.length === 0) {
        signOut('None of your organizations grants you audit:read.');
        return;
      }
      if (auditable.length === 1) {
        await openOrganization(auditable[0].organizationId, auditable[0].organizationName);
        return;
      }
      const select = $('org-select');
      select.replaceChildren(...auditable.map((m) => new Option(m.organizationName + ' (' + m.role + ')', m.organizationId)));
      show($('signin-form'), false);
      show($('org-form'), true);
      setStatus('Choose the organization to review.');
      select.focus();
    } catch (err) {
      setStatus(err.code === 'invalid_credentials' ? 'Wrong email or password.' : 'Sign-in failed: ' + err.message, true);
    }
  }

  function filterParams() {
    const params = new URLSearchParams();
    for (const [name, id] of [['userId', 'f-user'], ['organizationId', 'f-org'], ['sessionId', 'f-session'], ['type', 'f-type'], ['severity', 'f-severity']]) {
      const v = $(id).value.trim();
      if (v) params.set(name, v);
    }
    for (const [name, id] of [['from', 'f-from'], ['to', 'f-to']]) {
      const v = $(id).value;
      if (v) params.set(name, new Date(v).toISOString());
    }
    return params;
  }

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text == null ? '—' : String(text);
    if (className) td.className = className;
    return td;
  }

  function renderRecords(items) {
    const tbody = $('results').querySelector('tbody');
    tbody.replaceChildren(...items.map((r) => {
      const tr = document.createElement('tr');
      const open = document.createElement('button');
      open.type = 'button';
      open.textContent = 'Open';
      open.setAttribute('aria-label', 'Open record ' + r.id + ' (' + r.type + ')');
      open.addEventListener('click', () => openRecord(r));
      const action = document.createElement('td');
      action.append(open);
      tr.append(cell(r.occurredAt.replace('T', ' ').replace('Z', '')), cell(r.type), cell(r.severity, 'sev-' + r.severity), cell(r.userId, 'mono'), cell(r.organizationId, 'mono'), cell(r.ip), action);
      return tr;
    }));
  }

  async function search(cursor, reset) {
    if (reset) { state.pages = [null]; state.page = 0; }
    const params = filterParams();
    params.set('limit', $('f-limit').value);
    if (cursor) params.set('cursor', cursor);
    try {
      setStatus('Loading…');
      const body = await api('/v1/audit-logs?' + params.toString());
      state.nextCursor = body.nextCursor;
      renderRecords(body.items);
      $('results-caption').textContent = body.items.length
        ? 'Page ' + (state.page + 1) + ': ' + body.items.length + ' records, newest first.'
        : 'No records match these filters.';
      $('page-label').textContent = 'Page ' + (state.page + 1);
      $('older').disabled = !body.nextCursor;
      $('newer').disabled = state.page === 0;
      setStatus('');
    } catch (err) {
      setStatus('Search failed: ' + err.message, true);
    }
  }

  function openRecord(r) {
    const fields = [
      ['Id', r.id], ['Event id', r.eventId], ['Type', r.type], ['Severity', r.severity], ['Occurred at (UTC)', r.occurredAt],
      ['Actor', r.actor.type + (r.actor.id ? ' ' + r.actor.id : '')], ['User', r.userId], ['Organization', r.organizationId],
      ['Session', r.sessionId], ['IP', r.ip], ['User agent', r.userAgent], ['Request id', r.requestId],
    ];
    $('record-fields').replaceChildren(...fields.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.className = 'mono';
      dd.textContent = v == null ? '—' : String(v);
      return [dt, dd];
    }));
    $('record-details').textContent = JSON.stringify(r.details, null, 2);
    $('record-title').textContent = 'Record ' + r.id;
    state.shownUser = r.userId;
    $('record-sessions').disabled = !r.userId;
    show($('record'), true);
    $('record').focus();
  }

  async function showSessions(userId) {
    $('s-user').value = userId;
    try {
      const { sessions } = await api('/v1/audit-logs/users/' + encodeURIComponent(userId) + '/sessions');
      const tbody = $('sessions').querySelector('tbody');
      tbody.replaceChildren(...sessions.map((s) => {
        const tr = document.createElement('tr');
        const state = s.revokedAt ? 'revoked (' + (s.revokeReason || 'no reason') + ')' : new Date(s.expiresAt) < new Date() ? 'expired' : 'active';
        tr.append(cell(s.id, 'mono'), cell(s.deviceName || s.userAgent), cell(s.ip), cell(s.createdAt), cell(s.lastUsedAt), cell(state));
        return tr;
      }));
      $('sessions-caption').textContent = sessions.length ? sessions.length + ' sessions of user ' + userId + ', newest first.' : 'No sessions of user ' + userId + ' in this organization.';
      $('sessions-title').scrollIntoView();
    } catch (err) {
      setStatus('Sessions failed: ' + err.message, true);
    }
  }

  async function exportAs(format) {
    const params = filterParams();
    params.set('format', format);
    setStatus('Exporting…');
    try {
      const res = await api('/v1/audit-logs/export?' + params.toString(), { raw: true, headers: { Accept: '*/*' } });
      const blob = await res.blob();
      const match = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '');
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = match ? match[1] : 'audit-logs.' + format;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      setStatus('Export ready (' + blob.size + ' bytes). The export itself is recorded in the audit log.');
    } catch (err) {
      setStatus('Export failed: ' + err.message, true);
    }
  }

  async function verify() {
    const el = $('chain-status');
    el.textContent = 'Checking…';
    el.className = '';
    try {
      const r = await api('/v1/audit-logs/verify');
      el.textContent = r.ok ? 'Chain intact: ' + r.checked + ' records checked.' : 'Chain BROKEN at record ' + r.firstBrokenId + ' (' + r.checked + ' records intact before it).';
      el.className = r.ok ? 'chain-ok' : 'chain-broken';
    } catch (err) {
      el.textContent = 'Verification failed: ' + err.message;
      el.className = 'chain-broken';
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('signin-form').addEventListener('submit', signIn);
    $('org-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const select = $('org-select');
      openOrganization(select.value, select.options[select.selectedIndex].text).catch((err) => setStatus('Could not open: ' + err.message, true));
    });
    $('sign-out').addEventListener('click', () => {
      const token = state.token;
      signOut('Signed out.');
      if (token) fetch('/auth/logout', { method: 'POST', headers: { Authorization: 'Bearer ' + token } }).catch(() => undefined);
    });
    $('filters').addEventListener('submit', (e) => { e.preventDefault(); search(null, true); });
    $('older').addEventListener('click', () => {
      if (!state.nextCursor) return;
      state.pages.push(state.nextCursor);
      state.page += 1;
      search(state.nextCursor, false);
    });
    $('newer').addEventListener('click', () => {
      if (state.page === 0) return;
      state.pages.pop();
      state.page -= 1;
      search(state.pages[state.page], false);
    });
    $('export-ndjson').addEventListener('click', () => exportAs('ndjson'));
    $('export-csv').addEventListener('click', () => exportAs('csv'));
    $('verify').addEventListener('click', verify);
    $('record-close').addEventListener('click', () => show($('record'), false));
    $('record-sessions').addEventListener('click', () => { if (state.shownUser) showSessions(state.shownUser); });
    $('sessions-form').addEventListener('submit', (e) => { e.preventDefault(); showSessions($('s-user').value.trim()); });
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !$('record').hidden) show($('record'), false); });
  });
})();
