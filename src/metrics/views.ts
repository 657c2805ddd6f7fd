import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Metrics read from a role's own plain-number counters when Prometheus scrapes, so the hot
 * path pays an integer increment and nothing of prom-client (label hashing, objects).
 */

export function counterOf(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name, help, registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** Label values of one series: bounded sets only (a reason, a close code, a venue: never a client or a topic). */
export type Labels = Record<string, string | number>;

/** A counter per combination of bounded labels. */
export function countersBy(registry: Registry, name: string, help: string, labelNames: readonly string[], read: () => Iterable<readonly [Labels, number]>): void {
  new Counter({
    name, help, labelNames, registers: [registry],
    collect() {
      this.reset();
      for (const [labels, count] of read()) this.inc(labels, count);
    },
  });
}

export function gaugeOf(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name, help, registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** A gauge per combination of bounded labels. */
export function gaugesBy(registry: Registry, name: string, help: string, labelNames: readonly string[], read: () => Iterable<readonly [Labels, number]>): void {
  new Gauge({
    name, help, labelNames, registers: [registry],
    collect() {
      this.reset();
      for (const [labels, amount] of read()) this.set(labels, amount);
    },
  });
}

/**
 * The counts of a bounded set with every known value present (0 when never counted), so each
 * series exists from the first scrape and rate() and alerts see it start at zero.
 */
export function* withZeros<K>(known: readonly K[], counts: ReadonlyMap<K, number>): IterableIterator<[K, number]> {
  for (const key of known) yield [key, counts.get(key) ?? 0];
  for (const [key, count] of counts) if (!known.includes(key)) yield [key, count];
}
