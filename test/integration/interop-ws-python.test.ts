import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ipcDir, TickfanProcess, withTimeout, privateFabricEnv } from '../helpers/tickfan-process.js';

/**
 * The WebSocket contract from another language: test/interop/ws_resume.py, a client written
 * from PROTOCOL.md section 5 alone with Debian's python3-websockets, subscribes with
 * conflate:false, checks seq contiguity, disconnects, reconnects with `since` and checks that
 * every topic continues exactly after where it stood (missed ticks replayed, or a fresh
 * snapshot when the gateway no longer has them), with no gap and no duplicate.
 */

/** Debian's interpreter, which sees python3-websockets; the `python3` on PATH may be another install. */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../interop/ws_resume.py', import.meta.url));
const PATTERN = 'tick.SIM.*';
/** Instruments of venue SIM in the built-in list of the simulated feed. */
const SIM_TOPICS = 25;

interface Result {
  ok: boolean;
  failed: string[];
  error?: string;
  topics: number;
  snapshots: number;
  ticks: number;
  firstTicks: number;
  gaps: number;
  missing: number;
  duplicates: number;
  unannounced: number;
  epochChanges: number;
  protocolErrors: number;
  serverErrors: number;
  sinceTopics: number;
  resumedTopics: number;
  continued: number;
  resnapshots: number;
  replayed: number;
  resumedTicks: number;
  unresumed: number;
  awaySeconds: number;
  seconds: number;
  conflated: number;
  conflatedEvents: number;
  bookRecords: number;
  checksumMismatches: number;
  violations: string[];
}

function pythonWebsocketsProblem(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import websockets'], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  return `${PYTHON} cannot import websockets (${(probe.error?.message ?? probe.stderr).trim()}): run \`bash scripts/test-setup.sh\` as root, it installs python3-websockets`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs ws_resume.py to completion: exit code, the JSON result line (stdout) and its progress lines (stderr). */
async function runScript(t: ExecutionContext, args: string[]): Promise<{ code: number | null; result: Result; stderr: string[] }> {
  const child = spawn(PYTHON, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => stdout.push(line));
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const code = await withTimeout(exited, 20_000, `ws_resume.py to finish; stderr:\n${stderr.join('\n')}`);
  const last = stdout.at(-1);
  if (last === undefined) throw new Error(`ws_resume.py exited ${code} without a result; stderr:\n${stderr.join('\n')}`);
  return { code, result: JSON.parse(last) as Result, stderr };
}

/**
 * One tickfan process with every role (proxy, snapshot, gateway, feed at 2,000 ticks/s) on
 * private ipc endpoints and a free gateway port; once the feed has published every
 * instrument, the Python client runs against the gateway.
 */
async function resume(t: ExecutionContext, options: { env?: Record<string, string>; scriptArgs?: string[]; pattern?: string } = {}) {
  const problem = pythonWebsocketsProblem();
  if (problem !== undefined) throw new Error(problem);
  const dir = ipcDir();
  const env = {
    ...privateFabricEnv(dir),
    TICKFAN_FEEDS_SIMULATED_RATE: '2000',
    ...options.env,
  };
  const tickfan = new TickfanProcess(['start', '--roles', 'proxy,snapshot,gateway,feed'], env);
  t.teardown(() => {
    tickfan.kill();
    dir.cleanup();
  });
  const { port } = await tickfan.waitForLog('gateway listening');
  t.is(typeof port, 'number', 'the gateway logs the port it listens on');
  await tickfan.waitForLog('tickfan started');
  await sleep(1000); // every SIM instrument has ticked: each one gets a snapshot on subscribe

  const finished = await runScript(t, [
    '--url', `ws://127.0.0.1:${port as number}/v1/ws`, '--pattern', options.pattern ?? PATTERN,
    '--first-seconds', '2', '--away-seconds', '1', '--resumed-seconds', '2', ...(options.scriptArgs ?? []),
  ]);
  const { violations, ...counts } = finished.result;
  t.log(JSON.stringify(counts));
  if (violations.length > 0) t.log(violations.join('\n'));

  const { code, result } = finished;
  t.deepEqual(result.violations, [], 'no check of the contract failed');
  t.is(code, 0, `the script exits 0 only when every check holds; stderr:\n${finished.stderr.join('\n')}`);
  t.true(result.ok);
  t.is(result.gaps, 0, 'no seq missing, before or after the resume');
  t.is(result.duplicates, 0, 'no seq twice, before or after the resume');
  t.is(result.protocolErrors, 0, 'every frame an array of well-formed events');
  t.is(result.serverErrors, 0);
  t.is(result.topics, SIM_TOPICS, 'every SIM instrument, and only those');
  t.is(result.snapshots, SIM_TOPICS, 'one snapshot per topic on the first subscribe');
  t.is(result.unannounced, 0, 'no topic started with a tick: snapshot:true sends the record first');
  t.is(result.epochChanges, 0, 'the feed never restarted');
  t.true(result.firstTicks > 0, `ticks before the disconnect: ${result.firstTicks}`);
  t.is(result.sinceTopics, SIM_TOPICS, 'the resume lists every topic held');
  t.is(result.resumedTopics, SIM_TOPICS, 'every topic of `since` resumed: its next tick, or a fresh snapshot');
  t.is(result.continued + result.resnapshots, SIM_TOPICS);
  t.true(result.resumedTicks > 0, `ticks after the resume: ${result.resumedTicks}`);
  t.is(result.checksumMismatches, 0, 'every book record gave the checksum its source published');
  return result;
}

test('a Python client (websockets) resumes with since: the missed ticks come from the gateway history, in order', async (t) => {
  // A second client keeps the gateway subscribed upstream while the checked one is away, so
  // the gateway's history covers the whole absence (256 ticks per topic, ~40 missed).
  const result = await resume(t, { scriptArgs: ['--companion'] });
  t.is(result.resnapshots, 0, 'the history reaches back far enough: no snapshot instead');
  t.is(result.continued, SIM_TOPICS, 'every topic continues at since.seq + 1');
  t.true(result.replayed > 0, `ticks published while away, replayed on resume: ${result.replayed}`);
});

test('when neither the gateway history nor the snapshot service\'s REPLAY reaches back, the Python client resumes from a fresh snapshot', async (t) => {
  const result = await resume(t, { env: { TICKFAN_GATEWAY_HISTORY_PER_TOPIC: '2', TICKFAN_SNAPSHOT_HISTORY_PER_TOPIC: '2' }, scriptArgs: ['--companion'] });
  t.true(result.resnapshots > 0, `fresh snapshots instead of history: ${result.resnapshots}`);
});

test('a Python client keeping books by section 8 itself (zlib\'s crc32), conflate:true and reading slowly, ends every record with the source\'s checksum, also after a reconnect with since', async (t) => {
  // A small send budget per client, so the slow reader is conflated within the run; the client
  // keeps its TCP window small (ws_resume.py --read-delay), so the backlog stays in the gateway.
  const result = await resume(t, {
    pattern: 'book.SIM.*',
    env: { TICKFAN_FEEDS_SIMULATED_RATE: '4000', TICKFAN_GATEWAY_BUFFERED_HIGH_WATER_BYTES: '1024', TICKFAN_GATEWAY_MAX_QUEUED_EVENTS: '20' },
    scriptArgs: ['--companion', '--conflate', '--read-delay', '0.2', '--resumed-seconds', '4'],
  });
  t.true(result.bookRecords > SIM_TOPICS, `book records applied and checked: ${result.bookRecords}`);
  t.true(result.conflatedEvents > 0, `merged updates taken in place of ${result.conflated} records: ${result.conflatedEvents}`);
});

test('a lone Python client that reconnects resumes without a gap or a duplicate', async (t) => {
  // No other client: the gateway may drop its interest in the pattern while nobody is
  // connected; section 5 then allows a fresh snapshot instead of the missed ticks.
  const result = await resume(t);
  t.log(`lone client resumed: ${result.continued} topics continued (${result.replayed} ticks replayed), ${result.resnapshots} from a fresh snapshot`);
});
