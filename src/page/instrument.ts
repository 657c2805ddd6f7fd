import { topicProblem } from '../wire/topic.js';

/** The topics of an instrument's depth view: its order book and its trades (PROTOCOL.md section 8). */
export interface DepthTopics {
  readonly book: string;
  readonly trade: string;
}

/**
 * The topics of `instrument` (`VENUE.SYMBOL`, as in `?depth=SIM.BTC-USD`), or why it names none.
 * Checked here, not left to the gateway: a pattern such as `SIM.*` would subscribe every book.
 */
export function depthTopics(instrument: string): DepthTopics | string {
  if (topicProblem(`book.${instrument}`) !== undefined) return `no instrument ${JSON.stringify(instrument)}: expected VENUE.SYMBOL`;
  return { book: `book.${instrument}`, trade: `trade.${instrument}` };
}

/** The instrument (`VENUE.SYMBOL`) of a board row's topic, `tick.VENUE.SYMBOL`. */
export function instrumentOfTick(topic: string): string {
  return topic.slice(topic.indexOf('.') + 1);
}
