import { SnapshotClient, SnapshotError, SnapshotUnavailable, type SnapshotClientOptions } from '../client/zmq/index.js';
import { SnapshotErrorCode, type DecodedMessage, type RejectReason } from '../wire/index.js';
import { addCounts } from '../util/counts.js';

/** Where the snapshot services are and how to reach them, as each connection takes it, and: */
export interface ReplayerOptions extends SnapshotClientOptions {
  /** REPLAY requests in flight at most, each on its own connection: a service answers a connection's requests one at a time. */
  readonly concurrency: number;
  /** Requests waiting for a connection at most; beyond, a resume is answered `queue_full` (the caller sends a snapshot). */
  readonly maxQueued: number;
}

/** How a REPLAY request ended (`queue_full`: never sent, the queue was full). */
export const REPLAY_RESULTS = ['ok', 'gone', 'unavailable', 'timeout', 'error', 'queue_full'] as const;
export type ReplayResult = (typeof REPLAY_RESULTS)[number];

export type ReplayAnswer =
  /** The retained records from the asked seq on, contiguous and in order (none when the service holds nothing newer). */
  | { readonly result: 'ok'; readonly records: readonly DecodedMessage[] }
  | { readonly result: Exclude<ReplayResult, 'ok'>; readonly reason: string };

interface Job {
  readonly key: string;
  readonly topic: string;
  readonly epoch: number;
  /** Lowered while the job waits, when another resume of the topic needs more. */
  fromSeq: number;
  readonly answer: Promise<ReplayAnswer>;
  resolve(answer: ReplayAnswer): void;
}

/**
 * The gateway's REPLAY requests to the snapshot services (PROTOCOL.md section 4), for `since`
 * resumes its own history cannot answer. Bounded: at most `concurrency` in flight, at most
 * `maxQueued` waiting. Resumes of one topic share requests, so a fleet of clients resuming
 * the same topics after a restart costs about one REPLAY per topic, not one per client: a
 * resume joins a request in flight that starts at or before its seq, or a waiting one of the
 * topic (lowering where it starts).
 */
export class Replayer {
  /** REPLAY requests by how they ended, and resumes refused because the queue was full. */
  readonly results = new Map<ReplayResult, number>();
  private readonly connections: SnapshotClient[] = [];
  private readonly idle: SnapshotClient[] = [];
  private readonly queue: Job[] = [];
  private readonly waiting = new Map<string, Job>();
  private readonly inFlight = new Map<string, Job>();
  private closed = false;

  constructor(private readonly options: ReplayerOptions) {}

  /** Replies that broke the contract (PROTOCOL.md sections 3-4), by reason: each answered `error`. */
  get rejected(): Map<RejectReason, number> {
    const total = new Map<RejectReason, number>();
    for (const connection of this.connections) addCounts(total, connection.rejected);
    return total;
  }

  /** Requests waiting for a connection. */
  get waitingCount(): number {
    return this.queue.length;
  }

  /** Requests sent and not answered yet (at most `concurrency`). */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** The retained records of `topic` in `epoch` from `fromSeq` on, or why there are none. Never rejects. */
  async replay(topic: string, epoch: number, fromSeq: number): Promise<ReplayAnswer> {
    const key = `${epoch} ${topic}`;
    const flying = this.inFlight.get(key);
    let job = flying !== undefined && flying.fromSeq <= fromSeq ? flying : this.waiting.get(key);
    if (job === undefined) {
      if (this.closed) return { result: 'error', reason: 'the gateway is closing' };
      if (this.queue.length >= this.options.maxQueued) {
        this.count('queue_full');
        return { result: 'queue_full', reason: `${this.queue.length} REPLAY requests already wait (gateway.maxQueuedReplays)` };
      }
      job = newJob(key, topic, epoch, fromSeq);
      this.queue.push(job);
      this.waiting.set(key, job);
      this.pump();
    } else if (job.fromSeq > fromSeq) {
      job.fromSeq = fromSeq;
    }
    const answer = await job.answer;
    return answer.result === 'ok' ? { result: 'ok', records: answer.records.filter((record) => record.header.seq >= fromSeq) } : answer;
  }

  close(): void {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve({ result: 'error', reason: 'the gateway is closing' });
    this.waiting.clear();
    for (const connection of this.connections) connection.close();
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      const connection = this.idle.pop() ?? this.newConnection();
      if (connection === undefined) return;
      const job = this.queue.shift()!;
      this.waiting.delete(job.key);
      this.inFlight.set(job.key, job);
      void this.run(connection, job);
    }
  }

  private newConnection(): SnapshotClient | undefined {
    if (this.connections.length >= this.options.concurrency) return undefined;
    const connection = new SnapshotClient({ endpoints: this.options.endpoints, timeoutMs: this.options.timeoutMs, curve: this.options.curve });
    this.connections.push(connection);
    return connection;
  }

  private async run(connection: SnapshotClient, job: Job): Promise<void> {
    const answer = await ask(connection, job);
    if (this.inFlight.get(job.key) === job) this.inFlight.delete(job.key);
    this.count(answer.result);
    job.resolve(answer);
    this.idle.push(connection);
    this.pump();
  }

  private count(result: ReplayResult): void {
    this.results.set(result, (this.results.get(result) ?? 0) + 1);
  }
}

function newJob(key: string, topic: string, epoch: number, fromSeq: number): Job {
  let resolve!: (answer: ReplayAnswer) => void;
  const answer = new Promise<ReplayAnswer>((done) => (resolve = done));
  return { key, topic, epoch, fromSeq, answer, resolve };
}

async function ask(connection: SnapshotClient, { topic, epoch, fromSeq }: Job): Promise<ReplayAnswer> {
  try {
    const records = await connection.replay(topic, epoch, fromSeq);
    const problem = continuityProblem(records, topic, epoch, fromSeq);
    return problem === undefined ? { result: 'ok', records } : { result: 'error', reason: `REPLAY ${topic} ${epoch} ${fromSeq} answered ${problem}` };
  } catch (err) {
    const reason = (err as Error).message;
    if (err instanceof SnapshotUnavailable) return { result: 'timeout', reason };
    if (err instanceof SnapshotError && err.code === SnapshotErrorCode.GONE) return { result: 'gone', reason };
    if (err instanceof SnapshotError && err.code === SnapshotErrorCode.UNAVAILABLE) return { result: 'unavailable', reason };
    // A reply that broke the contract (counted by the connection), another error code, or a closed socket.
    return { result: 'error', reason };
  }
}

/** What is wrong with a REPLAY answer, if anything: PROTOCOL.md section 4 promises the topic's records of that epoch from fromSeq, in seq order. */
function continuityProblem(records: readonly DecodedMessage[], topic: string, epoch: number, fromSeq: number): string | undefined {
  for (let i = 0; i < records.length; i++) {
    const { topic: got, header } = records[i]!;
    if (got !== topic || header.epoch !== epoch || header.seq !== fromSeq + i) {
      return `record ${i} as ${got} ${header.epoch}:${header.seq}, expected ${topic} ${epoch}:${fromSeq + i}`;
    }
  }
  return undefined;
}
