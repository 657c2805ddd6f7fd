import { TickStream } from '../client/zmq/index.js';
import type { TickfanConfig } from '../config/index.js';
import { createLogger, ThrottledWarning } from '../log/index.js';
import { nowMicros, type DecodedMessage } from '../wire/index.js';
import { onShutdownSignal } from './shutdown.js';

export interface TailOptions {
  readonly prefix: string;
  /** Exit after this many messages; forever when undefined. */
  readonly count?: number | undefined;
  /** One JSON object per line instead of the human-readable line. */
  readonly json: boolean;
}

/** `tickfan tail PREFIX`: the decoded live stream on stdout, one line per message. */
export async function tail(config: TickfanConfig, options: TailOptions): Promise<void> {
  const log = createLogger(config.log.level);
  const warnings = new ThrottledWarning(log);
  const stream = new TickStream({
    endpoint: config.connect.backend,
    prefixes: [options.prefix],
    receiveHwm: config.subscriber.receiveHwm,
    onReject: (err) => warnings.warn(err.reason, {}, `message dropped: ${err.message}`),
  });
  onShutdownSignal(log, async () => stream.close());
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // A closed pipe (`tickfan tail ... | head`) is a normal way to stop reading.
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  log.info({ endpoint: config.connect.backend, prefix: options.prefix }, 'tailing');
  let printed = 0;
  for await (const message of stream) {
    process.stdout.write(options.json ? jsonLine(message) : humanLine(message));
    if (options.count !== undefined && ++printed >= options.count) break;
  }
  stream.close();
}

function humanLine({ topic, header, record }: DecodedMessage): string {
  const latencyMs = ((nowMicros() - header.ts) / 1000).toFixed(3);
  return `${topic} epoch=${header.epoch} seq=${header.seq} latency=${latencyMs}ms ${JSON.stringify(record)}\n`;
}

function jsonLine({ topic, header, record }: DecodedMessage): string {
  const latencyUs = nowMicros() - header.ts;
  return `${JSON.stringify({ topic, epoch: header.epoch, seq: header.seq, ts: header.ts, latencyUs, record })}\n`;
}
