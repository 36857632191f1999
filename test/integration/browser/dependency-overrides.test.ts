import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { startHarness, type Harness } from '../../support/harness';
import { CookieJar, signIn } from '../../support/browser-session';

const ROOT = path.join(__dirname, '..', '..', '..');

/** Every installed copy of a package, however deeply nested (node_modules/x/node_modules/...). */
function installedVersions(name: string): Array<{ at: string; version: string }> {
  const found: Array<{ at: string; version: string }> = [];
  const walk = (modules: string): void => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('.')) continue;
      const dirs = entry.startsWith('@') ? readdirSync(path.join(modules, entry)).map((e) => path.join(modules, entry, e)) : [path.join(modules, entry)];
      for (const dir of dirs) {
        const manifest = path.join(dir, 'package.json');
        if (existsSync(manifest) && path.relative(modules, dir) === name) {
          found.push({ at: path.relative(ROOT, dir), version: JSON.parse(readFileSync(manifest, 'utf8')).version });
        }
        walk(path.join(dir, 'node_modules'));
      }
    }
  };
  walk(path.join(ROOT, 'node_modules'));
  return found;
}

function atLeast(version: string, min: [number, number, number]): boolean {
  const parts = version.split(/[.-]/).slice(0, 3).map(Number);
  for (let i = 0; i < 3; i++) if (parts[i] !== min[i]) return parts[i]! > min[i]!;
  return true;
}

describe('dependency overrides the project relies on', () => {
  test('package.json overrides cookie (csurf pins 0.4.0, GHSA-pxg6-pf52-xh8x) to 0.7.0 or later', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(atLeast(String(pkg.overrides?.cookie).replace(/^[\^~>=]+/, ''), [0, 7, 0])).toBe(true);
  });

  test('no installed cookie older than 0.7.0 anywhere in node_modules, csurf\'s included', () => {
    const copies = installedVersions('cookie');
    expect(copies.length).toBeGreaterThan(0);
    expect(copies.filter((c) => !atLeast(c.version, [0, 7, 0]))).toEqual([]);
    // csurf resolves the overridden copy (hoisted or nested), not the one it pins.
    const fromCsurf = require.resolve('cookie/package.json', { paths: [path.dirname(require.resolve('csurf'))] });
    expect(atLeast(JSON.parse(readFileSync(fromCsurf, 'utf8')).version, [0, 7, 0])).toBe(true);
  });

  test('the lockfile agrees: every cookie entry is 0.7.0 or later', () => {
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
    const entries = Object.entries<{ version: string }>(lock.packages).filter(([p]) => /(^|\/)node_modules\/cookie$/.test(p));
    expect(entries.length).toBeGreaterThan(0);
    for (const [, e] of entries) expect(atLeast(e.version, [0, 7, 0])).toBe(true);
  });
});

describe('csurf still works with the overridden cookie', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  test('the secret cookie is __Host-, signed, HttpOnly, Secure, SameSite=Strict', async () => {
    const res = await h.http.get('/auth/csrf');
    const line = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('__Host-lk_csrf='))!;
    expect(line).toBeDefined();
    expect(decodeURIComponent(line.split(';')[0]!.split('=')[1]!)).toMatch(/^s:/);
    expect(line).toMatch(/; Path=\//);
    expect(line).toMatch(/; HttpOnly/);
    expect(line).toMatch(/; Secure/);
    expect(line).toMatch(/; SameSite=Strict/);
    expect(line).not.toMatch(/Domain=/i);
  });

  test('refresh needs the token in X-CSRF-Token: header accepted; missing, wrong, query or body refused', async () => {
    const s = await signIn(h);
    const post = () => h.http.post('/auth/refresh').set('Cookie', s.jar.header());
    expect((await post()).body.code).toBe('csrf_invalid');
    expect((await post().set('X-CSRF-Token', `${s.csrf}x`)).body.code).toBe('csrf_invalid');
    expect((await h.http.post(`/auth/refresh?_csrf=${encodeURIComponent(s.csrf)}`).set('Cookie', s.jar.header())).body.code).toBe('csrf_invalid');
    expect((await post().set('Content-Type', 'application/json').send({ _csrf: s.csrf })).body.code).toBe('csrf_invalid');
    expect((await post().set('X-XSRF-Token', s.csrf)).body.code).toBe('csrf_invalid');
    const ok = await post().set('X-CSRF-Token', s.csrf);
    expect(ok.status).toBe(200);
  });

  test('a tampered secret cookie is refused', async () => {
    const s = await signIn(h);
    const jar = new CookieJar();
    for (const [k, v] of s.jar.cookies) jar.cookies.set(k, k === '__Host-lk_csrf' ? v.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) : v);
    const res = await h.http.post('/auth/refresh').set('Cookie', jar.header()).set('X-CSRF-Token', s.csrf);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('csrf_invalid');
  });
});
