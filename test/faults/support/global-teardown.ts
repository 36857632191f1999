import { existsSync, readFileSync } from 'node:fs';
import { PIDS_FILE } from './evidence';
import { evidenceDir, faultsDatabaseUrl } from './fault-env';
import { liveGroupMembers } from './process-groups';

/**
 * After the fault run: SIGKILL any process group the suite started that is somehow still running
 * (only the groups it recorded, never anything found by name), and fail if there was one; then
 * drop the run's database (FAULTS_KEEP=1 keeps it). The evidence folder stays for inspection.
 */
export default async function globalTeardown(): Promise<void> {
  const leftovers: string[] = [];
  const pids = existsSync(PIDS_FILE()) ? readFileSync(PIDS_FILE(), 'utf8').split('\n').filter(Boolean).map(Number) : [];
  for (const pgid of pids) {
    const live = liveGroupMembers(pgid);
    if (live.length === 0) continue;
    leftovers.push(`${pgid}: ${live.join(',')}`);
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
  if (!process.env.FAULTS_KEEP) await dropDatabase(faultsDatabaseUrl()).catch(() => undefined);
  process.stderr.write(`[faults] evidence of this run: ${evidenceDir()}\n`);
  if (leftovers.length) throw new Error(`fault suite left processes running (now killed): ${leftovers.join('; ')}`);
}

async function dropDatabase(url: string): Promise<void> {
  const { Client } = await import('pg');
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^latchkey_faults[a-z0-9_]*$/.test(name)) return;
  target.pathname = '/postgres';
  const client = new Client({ connectionString: target.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
