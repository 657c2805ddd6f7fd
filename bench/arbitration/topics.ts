/** The arbitration bench's load: real protocol messages over a set of topics, some far busier than others. */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { TopicSet } from '../common/ticks.js';

/**
 * Picks each message's topic at random with Zipf weights (topic i gets 1/(i+1)^skew of the
 * traffic; skew 0 spreads it evenly), as a real feed concentrates on a few busy symbols. The
 * spread decides what a one-line loss costs: a hole opens only when the topic's next message
 * comes before the other line's copy of the lost one.
 */
export class SkewedTopics {
  private readonly topics: TopicSet;
  /** Cumulative shares, the last one 1. */
  private readonly cumulative: Float64Array;

  constructor(count: number, skew: number, private readonly rng: RandomGenerator) {
    this.topics = new TopicSet('SIM', Array.from({ length: count }, (_, i) => `S${i}`));
    const weights = Array.from({ length: count }, (_, i) => 1 / (i + 1) ** skew);
    const total = weights.reduce((sum, w) => sum + w, 0);
    this.cumulative = new Float64Array(count);
    let running = 0;
    weights.forEach((w, i) => (this.cumulative[i] = running += w / total));
  }

  /** The share of all messages the busiest topic gets. */
  get busiestShare(): number {
    return this.cumulative[0]!;
  }

  /** The next message of a randomly picked topic, stamped `ts`. */
  message(ts: number): Buffer[] {
    return this.topics.message(this.pick(), ts);
  }

  private pick(): number {
    const draw = uniformFloat64(this.rng);
    let low = 0;
    let high = this.cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.cumulative[middle]! > draw) high = middle;
      else low = middle + 1;
    }
    return low;
  }
}

/** The bench's random source: seeded, so a run's topics and losses can be drawn again. */
export function seededRandom(seed: number): RandomGenerator {
  return xoroshiro128plus(seed);
}
