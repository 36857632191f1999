import { startHarness, type Harness } from '../../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());

test('the client is compiled to one ES module at a stable path, revalidated by ETag, loadable cross-origin', async () => {
  const res = await h.http.get('/client/latchkey.js');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/javascript/);
  expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
  expect(res.headers['cache-control']).toBe('no-cache');
  expect(res.text).toMatch(/export\s*{[^}]*createLatchkey/);
  expect(res.text).not.toMatch(/\bimport\b.*from/); // self-contained
  // Tokens never go near Web Storage or script-visible cookies.
  expect(res.text).not.toMatch(/localStorage|sessionStorage|document\.cookie/);
  const again = await h.http.get('/client/latchkey.js').set('If-None-Match', res.headers.etag!);
  expect(again.status).toBe(304);
});

test('the demo is HTML + external script + stylesheet; its script loads the published client', async () => {
  const page = await h.http.get('/demo');
  expect(page.status).toBe(200);
  expect(page.headers['content-type']).toMatch(/^text\/html/);
  expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
  expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  expect(page.text).not.toMatch(/<style|style=/);
  const script = await h.http.get('/demo/demo.js');
  expect(script.headers['content-type']).toMatch(/^text\/javascript/);
  expect(script.text).toMatch(/from\s*["']\/client\/latchkey\.js["']/);
  const css = await h.http.get('/demo/demo.css');
  expect(css.headers['content-type']).toMatch(/^text\/css/);
});
