import { existsSync, readFileSync } from 'node:fs';
import { PIDS_FILE } from './evidence';

/**
 * After the fault run: SIGKILL any process group the suite started that is somehow still alive
 * (only the pids it recorded, never anything found by name), and fail if there was one.
 */
export default async function globalTeardown(): Promise<void> {
  if (!existsSync(PIDS_FILE())) return;
  const leftovers: number[] = [];
  for (const pid of readFileSync(PIDS_FILE(), 'utf8').split('\n').filter(Boolean).map(Number)) {
    try {
      process.kill(-pid, 0);
      leftovers.push(pid);
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* exited, as it should have */
    }
  }
  if (leftovers.length) throw new Error(`fault suite left processes running (now killed): ${leftovers.join(', ')}`);
}
