import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { LineSet } from '../client/zmq/index.js';
import { lineOptions } from '../config/index.js';
import { FabricSecurity } from '../curve/index.js';
import type { TickfanConfig } from './config.js';
import { recordedLine } from '../feeds/replay/index.js';
import { createLogger, ThrottledWarning } from '../log/index.js';
import { onShutdownSignal } from './shutdown.js';

export interface RecordOptions {
  readonly prefix: string;
  readonly file: string;
  /** Stop after this many messages; until a signal when undefined. */
  readonly count?: number | undefined;
}

/**
 * `tickfan record PREFIX FILE`: every live tick, book and trade message whose topic starts with
 * PREFIX, as NDJSON lines {topic, epoch, seq, ts, record} that the replay feed (feeds.replay.file)
 * reads back. Status messages are not recorded: a replay publishes its own venue status.
 */
export async function record(config: TickfanConfig, options: RecordOptions): Promise<void> {
  const log = createLogger(config.log.level);
  const out = createWriteStream(options.file, { flags: 'w' });
  await once(out, 'open');
  const warnings = new ThrottledWarning(log);
  const stream = new LineSet({
    ...lineOptions(config),
    endpoints: config.connect.backend,
    prefixes: [options.prefix],
    curve: FabricSecurity.open(config.curve, log).clientKeys(),
    onReject: (err) => warnings.warn(err.reason, {}, `message dropped: ${err.message}`),
  });
  onShutdownSignal(log, async () => stream.close());
  log.info({ endpoints: config.connect.backend, prefix: options.prefix, file: options.file }, 'recording');
  let written = 0;
  for await (const message of stream) {
    if (message.kind === 'status') continue;
    const { topic, header, record } = message;
    // Bounded memory: wait for the disk when the write buffer is full (the SUB socket's HWM then applies).
    if (!out.write(recordedLine({ topic, epoch: header.epoch, seq: header.seq, ts: header.ts, record }))) await once(out, 'drain');
    if (options.count !== undefined && ++written >= options.count) break;
  }
  stream.close();
  out.end();
  await once(out, 'finish');
  log.info({ file: options.file, written }, 'recording stopped');
}
