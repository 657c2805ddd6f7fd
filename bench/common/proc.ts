/** Another process's CPU time and memory, read from Linux's /proc (measured from outside, so the process needs no cooperation). */
import { readFileSync } from 'node:fs';

/** /proc/<pid>/stat counts in clock ticks; Linux's USER_HZ is 100 everywhere that matters. */
const MS_PER_TICK = 10;

/** User + system CPU time the process has used so far, ms; throws when the process or /proc is gone. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Fields after "(comm) ": state is the 1st, utime the 12th, stime the 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
}

/** The process's resident set size (VmRSS), bytes; throws when the process or /proc is gone. */
export function processRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error(`/proc/${pid}/status has no VmRSS line`);
  return Number(match[1]) * 1024;
}
