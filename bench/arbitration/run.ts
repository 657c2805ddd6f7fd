/** The arbitration bench's core: the source and receiver processes, and one case run on them. */
import { windowAfter } from '../common/clock.js';
import { machineCpuPercent } from '../common/machine.js';
import { Child } from '../common/spawn.js';
import type { Case } from './cases.js';
import type { ReceiverMethods, ReceiverReport } from './receiver.js';
import type { SourceMethods, SourceReport } from './source.js';

const CALL_MS = 15_000;
const STOP_MS = 5_000;

export interface RunSettings {
  /** Offered messages/s, over all topics. */
  readonly rate: number;
  readonly topics: number;
  /** Zipf exponent of the traffic over the topics (0: even). */
  readonly skew: number;
  /** Seeds the topic picks and the losses; every case draws the same sequence. */
  readonly seed: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** How late after the window a message still counts as delivered: longer than any window plus lag. */
  readonly graceMs: number;
  /** Send and receive high-water mark, far above what the rate queues. */
  readonly hwm: number;
}

export interface Processes {
  readonly source: Child<SourceMethods>;
  readonly receiver: Child<ReceiverMethods>;
}

export interface CaseResult {
  readonly case: Case;
  readonly source: SourceReport;
  readonly receiver: ReceiverReport;
  /** Share of the messages the busiest topic got. */
  readonly busiestShare: number;
  /** CPU other programs used during the window (the machine's less the source's and receiver's), % of one core. */
  readonly otherCpuPercent: number;
}

export async function startProcesses(): Promise<Processes> {
  const procs: Processes = {
    source: new Child<SourceMethods>(new URL('./source.ts', import.meta.url), 'source'),
    receiver: new Child<ReceiverMethods>(new URL('./receiver.ts', import.meta.url), 'receiver'),
  };
  try {
    await Promise.all([procs.source.started(), procs.receiver.started()]);
  } catch (err) {
    await stopProcesses(procs);
    throw err;
  }
  return procs;
}

export async function stopProcesses(procs: Processes): Promise<void> {
  await Promise.all([procs.source.stop(STOP_MS), procs.receiver.stop(STOP_MS)]);
}

/** Fresh sockets and a fresh run of the topics for the case; resolves once the receiver has read until the window end + grace. */
export async function runCase(procs: Processes, which: Case, settings: RunSettings): Promise<CaseResult> {
  const { endpoints, busiestShare } = await procs.source.call(
    'start',
    { lines: which.lines.length, sendHwm: settings.hwm, topics: settings.topics, skew: settings.skew, seed: settings.seed },
    CALL_MS,
  );
  try {
    await procs.receiver.call('start', { endpoints, arbitrationMs: which.arbitrationMs, receiveHwm: settings.hwm }, CALL_MS);
    await procs.source.call('subscribed', undefined, CALL_MS);
    const window = windowAfter(settings.warmupSeconds, settings.seconds);
    const bound = (settings.warmupSeconds + settings.seconds) * 1000 + settings.graceMs + CALL_MS;
    // The receiver is reading before the first message is sent.
    const received = procs.receiver.call('measure', { window, graceMicros: settings.graceMs * 1000 }, bound);
    const sent = procs.source.call('run', { window, rate: settings.rate, lines: which.lines, commonLoss: which.commonLoss }, bound);
    const [source, receiver, machine] = await Promise.all([sent, received, machineCpuPercent(window)]);
    const otherCpuPercent = Math.max(0, machine - source.cpuPercent - receiver.cpuPercent);
    return { case: which, source, receiver, busiestShare, otherCpuPercent };
  } finally {
    await procs.source.call('stop', undefined, CALL_MS);
  }
}
