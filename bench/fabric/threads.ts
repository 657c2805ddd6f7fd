/**
 * A process's CPU time by thread name, from /proc/<pid>/task/<tid>/stat: the JavaScript main
 * thread (named after the program), libzmq's I/O threads (ZMQbg/IO/n), libuv's pool, V8's
 * helpers. A CPU profile sees only the main thread; this shows what happens outside it
 * (a native proxy forwards entirely on libzmq's threads).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** /proc stat counts in clock ticks; Linux's USER_HZ is 100 everywhere that matters. */
const MS_PER_TICK = 10;

/** CPU ms so far by thread id, with each thread's name. */
export type ThreadTimes = Map<number, { readonly name: string; readonly cpuMs: number }>;

export function threadTimes(pid: number): ThreadTimes {
  const times: ThreadTimes = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
    } catch {
      continue; // the thread ended between the listing and the read
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    // Fields after "(comm) ": state is the 1st, utime the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    times.set(Number(tid), { name, cpuMs: (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK });
  }
  return times;
}

/** CPU ms of a process between two readings, split by where it ran. */
export interface ThreadSplit {
  /** The JavaScript main thread: what a CPU profile sees. */
  readonly main: number;
  /** libzmq's own threads (ZMQbg/IO/n, ZMQbg/Reaper): socket I/O, and a native proxy's forwarding. */
  readonly zmq: number;
  /** Everything else: V8's helpers (GC, compiler), libuv's pool. */
  readonly other: number;
}

/** A thread born in between counts from zero; one that ended in between is lost (none do in a steady role). */
export function splitByThread(before: ThreadTimes, after: ThreadTimes, mainTid: number): ThreadSplit {
  let main = 0;
  let zmq = 0;
  let other = 0;
  for (const [tid, { name, cpuMs }] of after) {
    const used = cpuMs - (before.get(tid)?.cpuMs ?? 0);
    if (tid === mainTid) main += used;
    else if (name.startsWith('ZMQbg')) zmq += used;
    else other += used;
  }
  return { main, zmq, other };
}
