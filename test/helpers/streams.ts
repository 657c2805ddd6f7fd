import type { TickStream } from '../../src/client/zmq/index.js';
import type { DecodedMessage } from '../../src/wire/index.js';
import { withTimeout } from './tickfan-process.js';

/** Reads `count` messages from a stream (bounded in time), leaving the stream open. */
export async function collect(stream: TickStream, count: number, timeoutMs = 20_000): Promise<DecodedMessage[]> {
  const messages: DecodedMessage[] = [];
  const iterator = stream[Symbol.asyncIterator]();
  const reading = (async () => {
    while (messages.length < count) {
      const next = await iterator.next();
      if (next.done) break;
      messages.push(next.value);
    }
    return messages;
  })();
  return withTimeout(reading, timeoutMs, `${count} messages (got ${messages.length})`);
}

/** Per topic: the seqs in arrival order, and the epochs seen. */
export function byTopic(messages: readonly DecodedMessage[]): Map<string, { seqs: number[]; epochs: Set<number> }> {
  const topics = new Map<string, { seqs: number[]; epochs: Set<number> }>();
  for (const { topic, header } of messages) {
    let entry = topics.get(topic);
    if (!entry) topics.set(topic, (entry = { seqs: [], epochs: new Set() }));
    entry.seqs.push(header.seq);
    entry.epochs.add(header.epoch);
  }
  return topics;
}

/** The first place where a topic's seqs are not consecutive, or undefined when all are. */
export function firstGap(seqs: readonly number[]): string | undefined {
  for (let i = 1; i < seqs.length; i++) {
    if (seqs[i] !== seqs[i - 1]! + 1) return `seq ${seqs[i]} followed ${seqs[i - 1]}`;
  }
  return undefined;
}
