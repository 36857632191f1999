import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import { parseRedisTarget } from '../../../shared/src/redis/redis-target';

/** Local development infrastructure: make Postgres and Redis answer, or say how to get them. */

const DATA_DIR = path.resolve(__dirname, '../../../.data');

export function log(message: string): void {
  process.stderr.write(`[latchkey] ${message}\n`);
}

function answers(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitFor(host: string, port: number, seconds: number): Promise<boolean> {
  for (let i = 0; i < seconds * 5; i++) {
    if (await answers(host, port)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

function has(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
}

const isLocal = (host: string) => ['127.0.0.1', 'localhost', '::1', ''].includes(host);

/** Starts the machine's PostgreSQL cluster, or a private one under .data/, when none answers. */
export async function ensurePostgres(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const host = url.hostname;
  const port = Number(url.port || 5432);
  if (await answers(host, port)) return;
  if (!isLocal(host)) throw new Error(`PostgreSQL at ${host}:${port} does not answer`);
  if (existsSync('/etc/postgresql') && has('pg_ctlcluster') && process.getuid?.() === 0) {
    const version = readdirSync('/etc/postgresql')[0];
    log(`PostgreSQL is not answering on ${port}: starting the machine's cluster ${version}/main`);
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version!, 'main', 'start'], { stdio: 'inherit' });
  } else {
    const bin = postgresBinDir();
    if (!bin) throw missing('PostgreSQL');
    const dir = path.join(DATA_DIR, 'postgres');
    if (!existsSync(path.join(dir, 'PG_VERSION'))) {
      mkdirSync(dir, { recursive: true });
      execFileSync(path.join(bin, 'initdb'), ['-D', dir, '-U', 'postgres', '--auth=trust'], { stdio: 'ignore' });
    }
    log(`PostgreSQL is not answering on ${port}: starting a private server in .data/postgres`);
    execFileSync(path.join(bin, 'pg_ctl'), ['-D', dir, '-l', path.join(DATA_DIR, 'postgres.log'), '-o', `-p ${port} -k /tmp -c listen_addresses=127.0.0.1`, 'start'], { stdio: 'ignore' });
  }
  if (!(await waitFor(host, port, 30))) throw new Error('PostgreSQL did not come up within 30 s');
}

function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => path.join(root, v, 'bin')).find((d) => existsSync(path.join(d, 'initdb')));
}

/** Starts a Redis server (nothing persisted) when none answers at the configured address. */
export async function ensureRedis(redisUrl: string): Promise<void> {
  const target = parseRedisTarget(redisUrl);
  if (target.kind === 'cluster') {
    // A Redis Cluster is never started here: every seed node must answer.
    for (const node of target.nodes) {
      if (!(await answers(node.host, node.port))) throw new Error(`Redis Cluster node ${node.host}:${node.port} does not answer`);
    }
    return;
  }
  const url = new URL(redisUrl);
  const host = url.hostname;
  const port = Number(url.port || 6379);
  if (await answers(host, port)) return;
  if (!isLocal(host)) throw new Error(`Redis at ${host}:${port} does not answer`);
  if (!has('redis-server')) throw missing('Redis');
  const dir = path.join(DATA_DIR, 'redis');
  mkdirSync(dir, { recursive: true });
  log(`Redis is not answering on ${port}: starting redis-server (data in .data/redis, nothing persisted)`);
  execFileSync('redis-server', [
    '--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no',
    '--maxmemory-policy', 'noeviction', '--dir', dir, '--logfile', path.join(dir, 'redis.log'),
  ]);
  if (!(await waitFor(host, port, 15))) throw new Error('Redis did not come up within 15 s');
}

/** Creates the database named in the URL if it does not exist (optionally dropping it first). */
export async function ensureDatabase(databaseUrl: string, options: { recreate?: boolean } = {}): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unsupported database name ${name}`);
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    if (options.recreate) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

function missing(what: string): Error {
  return new Error(
    `${what} is not running and no local ${what} server is installed.\n` +
      '  Start both with Docker:  docker compose up -d postgres redis\n' +
      '  or install them (Debian: apt-get install postgresql redis-server) and run this again.',
  );
}

/** Brings up Postgres and Redis and the database, or exits naming the fix. */
export async function ensureInfra(env: { databaseUrl: string; redisUrl: string; recreateDatabase?: boolean }): Promise<void> {
  await ensurePostgres(env.databaseUrl);
  await ensureRedis(env.redisUrl);
  await ensureDatabase(env.databaseUrl, { recreate: env.recreateDatabase });
}
