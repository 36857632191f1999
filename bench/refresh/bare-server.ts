import { createServer } from 'node:http';
import { Pool } from 'pg';
import { bareRotation } from './bare-rotation';

const COOKIE = '__Host-lk_rt';

/**
 * P3's bare baseline behind HTTP: a plain node:http server whose one route, POST /auth/refresh,
 * reads the refresh cookie, runs the bare rotation (bare-rotation.ts) and answers the successor in
 * a Set-Cookie and a small JSON body: the load client drives it exactly as it drives the API. No
 * CSRF, no checks, no signing: the HTTP and database work every rotation needs, and nothing else.
 * Same process model as the API (one process, a `pg` pool of POOL_MAX). Prints `READY {"port":N}`.
 */
async function main(): Promise<void> {
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_MAX ?? 20) });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const cookie = (req.headers.cookie ?? '').split('; ').find((c) => c.startsWith(`${COOKIE}=`));
      bareRotation(pool, cookie?.slice(COOKIE.length + 1) ?? '').then(
        (successor) => {
          const body = JSON.stringify({ rotated: true });
          res
            .writeHead(200, {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              'set-cookie': `${COOKIE}=${successor}; Path=/; HttpOnly; Secure; SameSite=Strict`,
            })
            .end(body);
        },
        (err: unknown) => res.writeHead(401, { 'content-type': 'text/plain' }).end(String(err)),
      );
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`READY ${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
  });
  process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
