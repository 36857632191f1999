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
    const res = await h.http.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/latchkey_http_request_duration_seconds_bucket\{[^}]*route="\/me\/"/);
    expect(res.text).toMatch(/latchkey_verify_outcomes_total\{code="ok",origin="[a-z-]+"\} \d/);
    expect(res.text).toMatch(/latchkey_verify_outcomes_total\{code="invalid_token"/);
    expect(res.text).toMatch(/latchkey_queue_jobs\{state="waiting"\} \d/);
    expect(res.text).toMatch(/latchkey_outbox_pending_events \d/);
    expect(res.text).toContain('latchkey_recent_event_lag_seconds');
    expect(res.text).toMatch(/latchkey_verify_cache_hit_ratio (0|1|0\.\d+)/);
  });
});
