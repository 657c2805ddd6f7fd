import { LineSet, TickSubscriber } from '../client/zmq/index.js';
import { lineOptions } from '../config/index.js';
import { FabricSecurity } from '../curve/index.js';
import type { TickfanConfig } from './config.js';
import { createLogger, ThrottledWarning, type Logger } from '../log/index.js';
import { nowMicros, type StatusRecord, type TickRecord } from '../wire/index.js';
import { onShutdownSignal } from './shutdown.js';

export interface TailOptions {
  readonly prefix: string;
  /** Exit after this many lines; forever when undefined. */
  readonly count?: number | undefined;
  /** One JSON object per line instead of the human-readable line. */
  readonly json: boolean;
  /** Print the current state of every matching topic first (from the snapshot service), then live changes. */
  readonly snapshot: boolean;
}

/** What one printed line shows, from a live message or an applied update. */
interface Line {
  readonly topic: string;
  readonly epoch: number;
  readonly seq: number;
  readonly ts: number;
  readonly record: TickRecord | StatusRecord;
  readonly source: 'snapshot' | 'replay' | 'live';
}

/** `tickfan tail PREFIX`: the decoded stream on stdout, one line per message. */
export async function tail(config: TickfanConfig, options: TailOptions): Promise<void> {
  const log = createLogger(config.log.level);
  const source = options.snapshot ? followState(config, options.prefix, log) : followLive(config, options.prefix, log);
  onShutdownSignal(log, () => source.close());
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // A closed pipe (`tickfan tail ... | head`) is a normal way to stop reading.
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  log.info({ endpoints: config.connect.backend, prefix: options.prefix, snapshot: options.snapshot }, 'tailing');
  let printed = 0;
  for await (const line of source.lines) {
    process.stdout.write(options.json ? jsonLine(line) : humanLine(line));
    if (options.count !== undefined && ++printed >= options.count) break;
  }
  await source.close();
}

/** Lines to print, and how to stop them: closing the socket ends a wait for a quiet stream. */
interface LineSource {
  readonly lines: AsyncIterable<Line>;
  close(): Promise<void>;
}

function followLive(config: TickfanConfig, prefix: string, log: Logger): LineSource {
  const warnings = new ThrottledWarning(log);
  const stream = new LineSet({
    ...lineOptions(config),
    endpoints: config.connect.backend,
    prefixes: [prefix],
    curve: FabricSecurity.open(config.curve, log).clientKeys(),
    onReject: (err) => warnings.warn(err.reason, {}, `message dropped: ${err.message}`),
  });
  async function* lines(): AsyncGenerator<Line> {
    for await (const { topic, header, record } of stream) yield { topic, ...header, record, source: 'live' };
  }
  return { lines: lines(), close: async () => stream.close() };
}

function followState(config: TickfanConfig, prefix: string, log: Logger): LineSource {
  const subscriber = new TickSubscriber({
    ...lineOptions(config),
    endpoint: config.connect.backend,
    prefix,
    snapshotEndpoints: config.connect.snapshot,
    snapshotTimeoutMs: config.connect.snapshotTimeoutMs,
    curve: FabricSecurity.open(config.curve, log).clientKeys(),
  });
  return {
    lines: subscriber,
    async close() {
      await subscriber.close();
      log.info({ counters: subscriber.counters, failovers: subscriber.failovers }, 'tail stopped');
    },
  };
}

function humanLine({ topic, epoch, seq, ts, record, source }: Line): string {
  const latencyMs = ((nowMicros() - ts) / 1000).toFixed(3);
  const marker = source === 'live' ? '' : ` [${source}]`;
  return `${topic} epoch=${epoch} seq=${seq} latency=${latencyMs}ms${marker} ${JSON.stringify(record)}\n`;
}

function jsonLine({ topic, epoch, seq, ts, record, source }: Line): string {
  return `${JSON.stringify({ topic, epoch, seq, ts, latencyUs: nowMicros() - ts, source, record })}\n`;
}
