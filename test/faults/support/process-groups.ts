import { readFileSync, readdirSync } from 'node:fs';

/**
 * Pids of the processes of group `pgid` that are still running. Zombies do not count: in a
 * container whose pid 1 does not reap orphans, a killed helper (esbuild) can stay a zombie.
 */
export function liveGroupMembers(pgid: number): number[] {
  const live: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') live.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return live;
}
