import { readFileSync, readdirSync } from 'node:fs';

/** USER_HZ: /proc counts CPU time in ticks of 10 ms on Linux. */
const MS_PER_TICK = 10;

/**
 * The command name of a /proc/<pid>/stat line, its CPU time (user + system, every thread) and that
 * of its children that exited and were reaped (a postmaster's ended backends), in ms.
 */
function parseStat(stat: string): { command: string; cpuMs: number; reapedMs: number } {
  // The command sits in parentheses and may hold spaces; utime, stime, cutime and cstime are the
  // 12th to 15th fields after it.
  const close = stat.lastIndexOf(')');
  const f = stat.slice(close + 2).split(' ').map(Number);
  return { command: stat.slice(stat.indexOf('(') + 1, close), cpuMs: (f[11]! + f[12]!) * MS_PER_TICK, reapedMs: (f[13]! + f[14]!) * MS_PER_TICK };
}

/** CPU time a process has used so far, in ms; undefined without /proc or once it has exited. */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).cpuMs;
  } catch {
    return undefined;
  }
}

/**
 * CPU time used so far by the processes with one of these command names (`postgres`,
 * `redis-server`), in ms per name: the live ones, plus the exited children they reaped (so the
 * backends of a pool closed between two readings still count, through their postmaster);
 * undefined without /proc.
 */
export function commandCpuMs(commands: readonly string[]): Record<string, number> | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const totals: Record<string, number> = Object.fromEntries(commands.map((c) => [c, 0]));
  for (const pid of pids) {
    try {
      const { command, cpuMs, reapedMs } = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      if (command in totals) totals[command]! += cpuMs + reapedMs;
    } catch {
      // exited while we read
    }
  }
  return totals;
}
