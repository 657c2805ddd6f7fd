import type { RecordSink } from '../../src/feeds/adapter.js';
import type { TickRecord } from '../../src/wire/index.js';

/** A sink for an adapter that should publish ticks only: a book or trade record fails loudly. */
export function tickSink(onTick: (record: TickRecord) => void = () => {}): RecordSink {
  const unexpected = (kind: string) => (): never => {
    throw new Error(`a ${kind} record reached a sink that expects ticks only`);
  };
  return { tick: onTick, book: unexpected('book'), trade: unexpected('trade') };
}
