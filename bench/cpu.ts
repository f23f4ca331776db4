import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time spent by this process and by the machine's `postgres` and `redis-server` processes, for
 * benchmarks to say where a run's CPU went (per post, beside the throughput). Linux only: it reads
 * /proc; elsewhere, or where /proc cannot be read, the servers count 0 and `available` is false.
 * Processes that exit between two samples lose their time; the bench's connections live through a run.
 */
export interface CpuSample {
  /** This process, µs (user + system). */
  node: number;
  /** Per pid, µs, of each server process seen. */
  servers: Map<number, { name: 'postgres' | 'redis'; us: number }>;
}

const TICK_US = 10_000; // USER_HZ is 100 on Linux whatever the kernel's HZ

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
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone since the listing
    }
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(open + 1, close);
    const name = comm === 'postgres' ? 'postgres' : comm === 'redis-server' ? 'redis' : null;
    if (name === null) continue;
    // after "pid (comm) ": state is field 3; utime and stime are fields 14 and 15
    const fields = stat.slice(close + 2).split(' ');
    servers.set(Number(pid), { name, us: (Number(fields[11]) + Number(fields[12])) * TICK_US });
  }
  return { node: u.user + u.system, servers };
}

/** µs of CPU between two samples, per part; a server process first seen in `to` counts from zero. */
export function cpuBetween(from: CpuSample, to: CpuSample): { node: number; postgres: number; redis: number; available: boolean } {
  const out = { node: to.node - from.node, postgres: 0, redis: 0, available: to.servers.size > 0 };
  for (const [pid, s] of to.servers) out[s.name] += s.us - (from.servers.get(pid)?.us ?? 0);
  return out;
}
