/**
 * How much CPU the rest of the machine used while this process measured something: the busy time
 * of all cores (/proc/stat) minus this process's own (every thread of it: event loop, workers,
 * ONNX Runtime's pool), in % of one core. On a shared machine a figure is only as good as this is
 * small. Linux only: undefined where /proc/stat cannot be read.
 */
import { readFileSync } from 'node:fs';

/** Other processes above this (% of one core) make a measurement on this machine noisy. */
export const NOISY_OTHER_CPU_PCT = 25;

/** Clock ticks per second of /proc/stat (USER_HZ, 100 on every Linux this runs on). */
const TICKS_PER_S = 100;

function machineBusyS(): number | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = cpu[3]! + (cpu[4] ?? 0);
    return (cpu.reduce((a, b) => a + b, 0) - idle) / TICKS_PER_S;
  } catch {
    return undefined;
  }
}

export interface OtherCpu {
  /** % of one core the other processes used since the start; undefined off Linux. */
  stop(): number | undefined;
}

export function otherCpu(): OtherCpu {
  const busy0 = machineBusyS();
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    stop() {
      const busy1 = machineBusyS();
      if (busy0 === undefined || busy1 === undefined) return undefined;
      const own = process.cpuUsage(own0);
      const wallS = (performance.now() - t0) / 1000;
      if (wallS <= 0) return undefined;
      return Math.max(0, ((busy1 - busy0 - (own.user + own.system) / 1e6) / wallS) * 100);
    },
  };
}

/**
 * Waits until the other processes used less than `belowPct` % of one core over a second, or
 * `maxS` seconds have passed. Resolves with the last second's figure (undefined off Linux).
 */
export async function waitQuiet(belowPct: number, maxS: number): Promise<number | undefined> {
  const end = performance.now() + maxS * 1000;
  let last: number | undefined;
  do {
    const probe = otherCpu();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    last = probe.stop();
    if (last === undefined || last < belowPct) return last;
  } while (performance.now() < end);
  return last;
}
