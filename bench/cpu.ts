import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time of processes, for benchmarks to say where a run's CPU went beside its throughput. Linux only: it reads
 * /proc; elsewhere, or where /proc cannot be read, other processes count 0. A process that exits between two
 * samples loses its time.
 */

const TICK_US = 10_000; // USER_HZ is 100 on Linux whatever the kernel's HZ

/** A process's command name and utime + stime in µs, from /proc/<pid>/stat; null once it is gone. */
export function procStat(pid: number): { comm: string; us: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name may hold spaces and parentheses: the fields start after its last closing parenthesis,
  // the state first (field 3), utime and stime at fields 14 and 15.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  return { comm: stat.slice(stat.indexOf('(') + 1, close), us: (Number(fields[11]) + Number(fields[12])) * TICK_US };
}

/** utime + stime of a process in µs; 0 once it is gone. */
export function cpuOf(pid: number): number {
  return procStat(pid)?.us ?? 0;
}

/** This process's CPU and that of every `postgres` and `redis-server` process on the machine, at one moment. */
export interface CpuSample {
  /** This process, µs (user + system). */
  node: number;
  /** Per pid, µs, of each server process seen. */
  servers: Map<number, { name: 'postgres' | 'redis'; us: number }>;
}

const SERVERS: Record<string, 'postgres' | 'redis'> = { postgres: 'postgres', 'redis-server': 'redis' };

export function sampleCpu(): CpuSample {
  const u = process.cpuUsage();
  const servers: CpuSample['servers'] = new Map();
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    // no /proc: node only
  }
  for (const pid of pids) {
    const stat = procStat(Number(pid));
    const name = stat && SERVERS[stat.comm];
    if (name) servers.set(Number(pid), { name, us: stat.us });
  }
  return { node: u.user + u.system, servers };
}

/** µs of CPU between two samples, per part; a server process first seen in `to` counts from zero. */
export function cpuBetween(from: CpuSample, to: CpuSample): { node: number; postgres: number; redis: number; available: boolean } {
  const out = { node: to.node - from.node, postgres: 0, redis: 0, available: to.servers.size > 0 };
  for (const [pid, s] of to.servers) out[s.name] += s.us - (from.servers.get(pid)?.us ?? 0);
  return out;
}
