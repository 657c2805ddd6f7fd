/** The publisher's load: valid protocol messages for N topics tick.BENCH.S00000.., one epoch. */
import { tickTopic } from '../../src/wire/index.js';
import { TopicSet } from '../common/ticks.js';

/** Fixed width, so that the name of topic 0 is a prefix of no other topic: a SNAPSHOT of it returns 1 record. */
const DIGITS = 5;

export const VENUE = 'BENCH';

export function topicName(index: number): string {
  return tickTopic(VENUE, symbolOf(index));
}

function symbolOf(index: number): string {
  return `S${String(index).padStart(DIGITS, '0')}`;
}

/** N topics tick.BENCH.S00000.. with per-topic seqs without holes. */
export class BenchTopics extends TopicSet {
  constructor(count: number) {
    if (!(count >= 1 && count < 10 ** DIGITS)) throw new RangeError(`topic count ${count} is not from 1 to ${10 ** DIGITS - 1}`);
    super(VENUE, Array.from({ length: count }, (_, i) => symbolOf(i)));
  }
}
