import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ipcDir, TickfanProcess, withTimeout, privateFabricEnv } from '../helpers/tickfan-process.js';

/**
 * The snapshot contract from another language: test/interop/late_join.py, a late joiner
 * written from PROTOCOL.md alone with Debian's python3-zmq, joins running tickfan processes
 * and must end with exactly the state of a SNAPSHOT taken after the feed stopped.
 */

/** Debian's interpreter, which sees python3-zmq; the `python3` on PATH may be another install. */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../interop/late_join.py', import.meta.url));
const INSTRUMENTS = 50;

interface Result {
  topics: number;
  applied: number;
  duplicates: number;
  gaps: number;
  replayed: number;
  resnapshots: number;
  unfilled: number;
  rejected: number;
  lost?: number;
  snapshotTopics: number;
  finalTopics: number;
  stoppedBy: string;
  books: number;
  bookRecords: number;
  checksumMismatches: number;
  mismatches: unknown[];
}

/** The Python late joiner: JSON progress events on stderr, one JSON result line on stdout. */
class LateJoinScript {
  readonly child: ChildProcess;
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly events: { event: string }[] = [];
  private readonly waiters: { event: string; resolve: () => void }[] = [];

  constructor(args: readonly string[]) {
    this.child = spawn(PYTHON, [SCRIPT, '--stop-on-stdin', '--seconds', '25', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.stdout.push(line));
    createInterface({ input: this.child.stderr! }).on('line', (line) => this.onStderr(line));
  }

  waitFor(event: string, timeoutMs = 10_000): Promise<void> {
    if (this.events.some((e) => e.event === event)) return Promise.resolve();
    const seen = new Promise<void>((resolve) => this.waiters.push({ event, resolve }));
    const exitedFirst = this.exited.then((code) => Promise.reject(new Error(`late_join.py exited ${code} before "${event}":\n${this.stderr.join('\n')}`)));
    return withTimeout(Promise.race([seen, exitedFirst]), timeoutMs, `late_join.py event "${event}"; stderr:\n${this.stderr.join('\n')}`);
  }

  /** Tells the script to stop (a line on stdin) and returns its exit code and result. */
  async finish(): Promise<{ code: number | null; result: Result }> {
    this.child.stdin!.end('stop\n');
    const code = await withTimeout(this.exited, 15_000, `late_join.py to exit; stderr:\n${this.stderr.join('\n')}`);
    const last = this.stdout.at(-1);
    if (last === undefined) throw new Error(`late_join.py exited ${code} without a result; stderr:\n${this.stderr.join('\n')}`);
    return { code, result: JSON.parse(last) as Result };
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private onStderr(line: string): void {
    this.stderr.push(line);
    let parsed: { event?: unknown };
    try {
      parsed = JSON.parse(line) as { event?: unknown };
    } catch {
      return;
    }
    if (typeof parsed.event !== 'string') return;
    const event = { event: parsed.event };
    this.events.push(event);
    for (const waiter of this.waiters.filter((w) => w.event === event.event)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }
}

function pythonZmqProblem(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import zmq'], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  return `${PYTHON} cannot import zmq (${(probe.error?.message ?? probe.stderr).trim()}): run \`bash scripts/test-setup.sh\` as root, it installs python3-zmq`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Proxy, snapshot and a feed of a few thousand ticks/s as separate processes; the script
 * joins once the feed has been publishing for a while, applies live ticks, and is told to
 * finish after the feed has stopped.
 */
async function lateJoin(t: ExecutionContext, options: { snapshotEnv?: Record<string, string>; scriptArgs?: string[]; prefix?: string } = {}): Promise<{ code: number | null; result: Result }> {
  const problem = pythonZmqProblem();
  if (problem !== undefined) throw new Error(problem);
  const dir = ipcDir();
  const env = {
    ...privateFabricEnv(dir),
    TICKFAN_FEEDS_SIMULATED_RATE: '3000',
  };
  const processes: { kill(): void }[] = [];
  t.teardown(() => {
    processes.forEach((p) => p.kill());
    dir.cleanup();
  });
  const startRole = async (role: string, extra: Record<string, string> = {}) => {
    const proc = new TickfanProcess(['start', '--roles', role], { ...env, ...extra });
    processes.push(proc);
    await proc.waitForLog('tickfan started');
    return proc;
  };
  await startRole('proxy');
  await startRole('snapshot', options.snapshotEnv);
  const feed = await startRole('feed');

  await sleep(1000); // the feed publishes before the script exists: it joins late
  const script = new LateJoinScript(['--backend', env.TICKFAN_PROXY_BACKEND, '--snapshot', env.TICKFAN_CONNECT_SNAPSHOT, '--prefix', options.prefix ?? 'tick.', ...(options.scriptArgs ?? [])]);
  processes.push(script);
  await script.waitFor('joined');
  await sleep(2000); // live ticks go through the seq rules

  const stopped = await feed.stop('SIGTERM');
  t.is(stopped.code, 0, 'the feed exits 0 on SIGTERM');
  const finished = await script.finish();
  t.log(JSON.stringify({ ...finished.result, mismatches: finished.result.mismatches.length }));
  return finished;
}

function assertSameState(t: ExecutionContext, { code, result }: { code: number | null; result: Result }): void {
  t.deepEqual(result.mismatches, [], 'every topic held equals the final SNAPSHOT');
  t.is(code, 0, 'the script exits 0 only when its state equals the final SNAPSHOT');
  t.is(result.topics, INSTRUMENTS);
  t.is(result.finalTopics, INSTRUMENTS);
  t.is(result.snapshotTopics, INSTRUMENTS, 'the snapshot it joined with already held every instrument: it joined late');
  t.is(result.stoppedBy, 'stdin');
  t.is(result.rejected, 0, 'every live message decoded by the contract');
  t.is(result.unfilled, 0, 'every gap was filled');
}

test('a Python late joiner (pyzmq) ends with exactly the state of a SNAPSHOT taken after the feed stopped', async (t) => {
  const finished = await lateJoin(t);
  assertSameState(t, finished);
  t.true(finished.result.applied > INSTRUMENTS, `live updates applied after the snapshot: ${finished.result.applied}`);
});

test('messages the Python late joiner lost are filled by REPLAY', async (t) => {
  const finished = await lateJoin(t, { scriptArgs: ['--lose-every', '37', '--lose-for', '1'] });
  assertSameState(t, finished);
  const { lost, gaps, replayed, resnapshots } = finished.result;
  t.true(lost! > 0 && gaps > 0, `lost ${lost}, gaps ${gaps}`);
  t.true(replayed >= gaps, `replayed ${replayed} for ${gaps} gaps`);
  t.is(resnapshots, 0, 'the default history reaches back far enough: no GONE');
});

test('a Python late joiner keeping books by section 8 itself (zlib\'s crc32) ends with the books of a SNAPSHOT taken after the feed stopped, every record checked, REPLAY filling what it lost', async (t) => {
  const finished = await lateJoin(t, { prefix: 'book.', scriptArgs: ['--lose-every', '37', '--lose-for', '1'] });
  assertSameState(t, finished);
  const { books, bookRecords, checksumMismatches, lost, replayed } = finished.result;
  t.is(books, INSTRUMENTS, 'a book per instrument');
  t.is(checksumMismatches, 0, 'every book record, from SNAPSHOT, REPLAY or live, gave the checksum its source published');
  t.true(bookRecords > INSTRUMENTS && lost! > 0 && replayed > 0, `book records ${bookRecords}, lost ${lost}, replayed ${replayed}`);
});

test('when the history no longer reaches back (ERR GONE), the Python late joiner re-snapshots the topic', async (t) => {
  const finished = await lateJoin(t, {
    snapshotEnv: { TICKFAN_SNAPSHOT_HISTORY_PER_TOPIC: '1' },
    scriptArgs: ['--lose-every', '37', '--lose-for', '1'],
  });
  assertSameState(t, finished);
  const { lost, gaps, resnapshots } = finished.result;
  t.true(lost! > 0 && gaps > 0, `lost ${lost}, gaps ${gaps}`);
  t.true(resnapshots > 0, `re-snapshots after GONE: ${resnapshots}`);
});
