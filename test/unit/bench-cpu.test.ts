import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type CpuSample, cpuBetween, procStat, sampleCpu } from '../../bench/cpu.js';

// The pipeline bench's CPU accounting (bench/cpu.ts): per part, and a server process first seen in
// the later sample counts from zero.

const sample = (node: number, servers: [number, 'postgres' | 'redis', number][]): CpuSample => ({
  node,
  servers: new Map(servers.map(([pid, name, us]) => [pid, { name, us }])),
});

describe('bench CPU accounting', () => {
  it('sums each part over its processes, new ones from zero, and leaves out the ones that exited', () => {
    const from = sample(1_000, [
      [10, 'postgres', 5_000],
      [11, 'postgres', 7_000],
      [20, 'redis', 3_000],
      [12, 'postgres', 9_000], // exits before the second sample
    ]);
    const to = sample(4_500, [
      [10, 'postgres', 6_000],
      [11, 'postgres', 7_500],
      [13, 'postgres', 2_000], // a backend that connected during the run
      [20, 'redis', 3_400],
    ]);
    expect(cpuBetween(from, to)).toEqual({ node: 3_500, postgres: 1_000 + 500 + 2_000, redis: 400, available: true });
  });

  it('says so when no server process was seen', () => {
    expect(cpuBetween(sample(0, []), sample(10, []))).toEqual({ node: 10, postgres: 0, redis: 0, available: false });
  });

  it.runIf(process.platform === 'linux')("reads a process's name and CPU from /proc/<pid>/stat as the kernel and Node report them", () => {
    let x = 0;
    for (let i = 0; i < 20_000_000; i++) x += Math.sqrt(i);
    expect(x).toBeGreaterThan(0);
    const u = process.cpuUsage();
    const stat = procStat(process.pid)!;
    expect(stat.comm).toBe(readFileSync(`/proc/${process.pid}/comm`, 'utf8').trim());
    // the same clock at a 10 ms tick: within a few ticks of what getrusage() says
    expect(Math.abs(stat.us - (u.user + u.system))).toBeLessThan(50_000);
    expect(procStat(2 ** 22 + 1)).toBeNull(); // above the kernel's pid limit: no such process
  });

  it("reads this process's CPU, which grows with work", () => {
    const before = sampleCpu();
    let x = 0;
    for (let i = 0; i < 3_000_000; i++) x += Math.sqrt(i);
    expect(x).toBeGreaterThan(0);
    expect(sampleCpu().node).toBeGreaterThan(before.node);
  });
});
