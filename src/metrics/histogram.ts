import type { Registry } from 'prom-client';

/**
 * A histogram cheap enough for the fan-out hot path: fixed buckets in a typed array, an
 * observation is a short scan and two additions, and a weight lets one observation stand for
 * many (one sampled event for a whole frame). Prometheus reads it like any histogram; it is
 * registered with prom-client as a metric whose values are produced at scrape time.
 */
export class BucketHistogram {
  readonly type = 'histogram';
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds, ascending, in the metric's unit. */
    private readonly bounds: readonly number[],
    /** Called at each scrape before the values are read: a distribution of current state observes it here. */
    private readonly collect?: (histogram: BucketHistogram) => void,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number, weight = 1): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]! += weight;
    this.sum += value * weight;
    this.count += weight;
  }

  /** Forgets every observation (for a distribution taken afresh at each scrape). */
  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  register(registry: Registry): this {
    registry.registerMetric(this as never);
    return this;
  }

  /** prom-client's metric interface: the cumulative buckets, sum and count. */
  async get(): Promise<{ name: string; help: string; type: string; values: { metricName: string; labels: Record<string, string | number>; value: number }[]; aggregator: string }> {
    this.collect?.(this);
    const values = [];
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      values.push({ metricName: `${this.name}_bucket`, labels: { le: this.bounds[i]! }, value: cumulative });
    }
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: this.count });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: this.count });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }
}
