/**
 * A latency histogram with log-linear buckets: each power of two is split into SUB_BUCKETS,
 * so a percentile is within about 6% of the true value while memory stays fixed however
 * many millions of messages are recorded.
 */
const SUB_BUCKETS = 16;
const POWERS = 32;
const MAX_MICROS = 2 ** POWERS - 1;

export class LatencyHistogram {
  private readonly counts = new Float64Array(POWERS * SUB_BUCKETS);
  private total = 0;

  record(micros: number): void {
    // Clocks of two processes can disagree by a microsecond or so; clamp instead of failing.
    const value = Math.min(MAX_MICROS, Math.max(1, Math.round(micros)));
    const power = 31 - Math.clz32(value);
    const sub = Math.floor((value / 2 ** power - 1) * SUB_BUCKETS);
    this.counts[power * SUB_BUCKETS + sub]!++;
    this.total++;
  }

  /** The midpoint of the bucket holding the p-th percentile, or undefined when empty. */
  percentile(p: number): number | undefined {
    if (this.total === 0) return undefined;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const power = Math.floor(i / SUB_BUCKETS);
        const sub = i % SUB_BUCKETS;
        return Math.round(2 ** power * (1 + (sub + 0.5) / SUB_BUCKETS));
      }
    }
    return undefined;
  }
}
