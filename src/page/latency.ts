/** Histogram buckets per doubling of the latency: each bucket is about 4.4 % wide. */
const BUCKETS_PER_DOUBLING = 16;
/** Latencies up to 2^36 us (about 19 hours); longer ones land in the last bucket. */
const BUCKETS = 36 * BUCKETS_PER_DOUBLING + 1;

export interface LatencySummary {
  /** Microseconds; undefined when the window holds no sample. */
  readonly p50: number | undefined;
  readonly p99: number | undefined;
  readonly count: number;
}

/**
 * End-to-end latencies of the last `seconds` seconds (the current second and the whole ones
 * before it), as one log-bucketed histogram per second: recording is O(1) and memory is fixed
 * however many ticks per second arrive. Percentiles are accurate to a bucket's width.
 */
export class LatencyWindow {
  private readonly slots: Uint32Array[];
  private readonly slotSecond: Float64Array;

  constructor(private readonly seconds = 10) {
    this.slots = Array.from({ length: seconds }, () => new Uint32Array(BUCKETS));
    this.slotSecond = new Float64Array(seconds).fill(-1);
  }

  /** One sample: `latencyUs` microseconds, observed at `nowMs` (ms since the Unix epoch). Negative (clock skew) counts as 0. */
  record(latencyUs: number, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const index = second % this.seconds;
    const slot = this.slots[index]!;
    if (this.slotSecond[index] !== second) {
      slot.fill(0);
      this.slotSecond[index] = second;
    }
    slot[bucketOf(latencyUs)]!++;
  }

  summary(nowMs: number): LatencySummary {
    const now = Math.floor(nowMs / 1000);
    const merged = new Uint32Array(BUCKETS);
    let count = 0;
    for (let index = 0; index < this.seconds; index++) {
      const second = this.slotSecond[index]!;
      if (second > now || second <= now - this.seconds) continue;
      const slot = this.slots[index]!;
      for (let bucket = 0; bucket < BUCKETS; bucket++) {
        merged[bucket]! += slot[bucket]!;
        count += slot[bucket]!;
      }
    }
    return { p50: quantile(merged, count, 0.5), p99: quantile(merged, count, 0.99), count };
  }
}

function bucketOf(latencyUs: number): number {
  if (!(latencyUs > 1)) return 0;
  return Math.min(BUCKETS - 1, 1 + Math.floor(Math.log2(latencyUs) * BUCKETS_PER_DOUBLING));
}

/** The geometric middle of a bucket, in microseconds. */
function valueOf(bucket: number): number {
  return bucket === 0 ? 0 : 2 ** ((bucket - 0.5) / BUCKETS_PER_DOUBLING);
}

function quantile(histogram: Uint32Array, count: number, q: number): number | undefined {
  if (count === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * count));
  let seen = 0;
  for (let bucket = 0; bucket < histogram.length; bucket++) {
    seen += histogram[bucket]!;
    if (seen >= rank) return valueOf(bucket);
  }
  return valueOf(histogram.length - 1);
}
