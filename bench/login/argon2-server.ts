import { createServer } from 'node:http';
import { hashPassword, verifyPassword } from '../../shared/src/security/passwords';

/**
 * The bare baseline of P4: a plain node:http server whose one route does what a sign-in cannot
 * avoid, one argon2id verify with the product's parameters (ARGON2_OPTIONS, through the same
 * verifyPassword), and nothing else. Same process model as the API (one process, libuv threadpool).
 * Prints `READY {"port":N}`.
 */
async function main(): Promise<void> {
  const password = 'benchmark password 1234';
  const hash = await hashPassword(password);
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      let presented = '';
      try {
        presented = (JSON.parse(body) as { password?: string }).password ?? '';
      } catch {
        // an unparsable body verifies as a wrong password
      }
      verifyPassword(hash, presented).then((ok) => {
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify({ ok }));
      });
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`READY ${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
