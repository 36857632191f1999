import { buildEvent, insertOutboxEvent } from '../../shared/src/events/outbox';
import { startHarness, type Harness } from '../support/harness';
import { signIn } from '../support/browser-session';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

describe('GET /metrics', () => {
  it('exposes latency per route, verify outcomes by code, queue depth, event lag and the cache hit ratio', async () => {
    const s = await signIn(h);
    await h.http.get('/me').set('Authorization', `Bearer ${s.accessToken}`);
    await h.http.get('/me').set('Authorization', 'Bearer nope');
    await h.http.post('/auth/login').send({});
    // A revoking event processed a moment ago (as a worker leaves it).
    const event = buildEvent({ type: 'user.logged_out_all', source: 'service:test', actor: { type: 'service', id: 'test' }, data: { userId: s.userId } });
    await h.deps.db.transaction((t) => insertOutboxEvent(h.deps.db, t, event));
    await h.deps.db.query("UPDATE events SET status = 'processed', processed_at = created_at + interval '7 milliseconds' WHERE id = :id", { replacements: { id: event.id } });
    const res = await h.http.get('/metrics');
    expect(res.status).toBe(200);
    // Labelled by the route's full pattern, errors too (an error leaving a router used to lose its prefix).
    expect(res.text).toMatch(/latchkey_http_request_duration_seconds_bucket\{[^}]*route="\/me",status="200"/);
    expect(res.text).toMatch(/latchkey_http_request_duration_seconds_bucket\{[^}]*route="\/me",status="401"/);
    expect(res.text).toMatch(/latchkey_http_request_duration_seconds_bucket\{[^}]*route="\/auth\/login",status="400"/);
    expect(res.text).toMatch(/latchkey_recent_event_lag_seconds\{kind="revocation",quantile="0.5"\} \d/);
    expect(res.text).toMatch(/latchkey_verify_outcomes_total\{code="ok",origin="[a-z-]+"\} \d/);
    expect(res.text).toMatch(/latchkey_verify_outcomes_total\{code="invalid_token"/);
    expect(res.text).toMatch(/latchkey_queue_jobs\{state="waiting"\} \d/);
    expect(res.text).toMatch(/latchkey_outbox_pending_events \d/);
    expect(res.text).toMatch(/latchkey_verify_cache_hit_ratio (0|1|0\.\d+)/);
  });
});
