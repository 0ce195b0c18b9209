// CPU time of server processes, from /proc (Linux): a cost per request that, unlike requests/s,
// hardly moves when something else on the machine competes for the cores.
import { readFileSync, readdirSync } from 'node:fs';

const ticksPerSecond = 100; // USER_HZ on Linux

function ticks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

/** Pids of every process whose command name is `name` (e.g. Apache's workers). */
export function pidsNamed(name) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch { /* gone */ }
  }
  return pids;
}

/** CPU seconds used so far by `pids` (a function, so process sets that change can be re-read). */
export function cpuSeconds(pids) {
  const list = typeof pids === 'function' ? pids() : pids;
  return list.reduce((sum, pid) => sum + ticks(pid), 0) / ticksPerSecond;
}

export const hasProc = (() => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

/** CPU seconds the whole machine spent busy so far (every core, all processes). */
export function machineBusySeconds() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user + nice + system + irq + softirq + (steal ?? 0)) / ticksPerSecond;
}

/** CPU seconds of this process's finished children (the load generator runs), from /proc/self/stat. */
export function finishedChildrenSeconds() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond; // cutime + cstime
}
