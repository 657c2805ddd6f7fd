/** The pipeline publisher's load: real protocol messages round-robin over SIM topics. */
import { TopicSet } from '../common/ticks.js';

/** Hands out 3-frame messages round-robin over its topics, each with the topic's next seq. */
export class TickSource {
  private readonly topics: TopicSet;
  private next = 0;

  constructor(topicCount: number) {
    this.topics = new TopicSet('SIM', Array.from({ length: topicCount }, (_, i) => `S${i}`));
  }

  get epoch(): number {
    return this.topics.epoch;
  }

  message(ts: number): Buffer[] {
    const index = this.next;
    this.next = (index + 1) % this.topics.size;
    return this.topics.message(index, ts);
  }
}
