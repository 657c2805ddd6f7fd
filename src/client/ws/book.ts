import { sequence } from '../../wire/order.js';
import { patternMatches, type RecordEvent, type StatusEvent } from '../../wire/websocket.js';
import type { ClientCounters, SubscribeOptions, TopicState, Update } from './types.js';

export type BookCounters = Pick<ClientCounters, 'applied' | 'duplicates' | 'stale' | 'unsolicited' | 'skipped' | 'resets'>;

/**
 * What the client holds: its acknowledged subscriptions, the state of every topic they match,
 * and the last status of each venue. A snapshot or tick is applied with the ordering rule every
 * role shares (wire/order.ts), so it is applied at most once and never after a newer one.
 */
export class TopicBook {
  /** Acknowledged subscriptions: pattern -> options. */
  private readonly subs = new Map<string, Required<SubscribeOptions>>();
  /** topic -> whether a subscription matches it; cleared when subscriptions change. */
  private readonly matchCache = new Map<string, boolean>();
  private readonly states = new Map<string, TopicState>();
  private readonly statuses = new Map<string, StatusEvent>();

  constructor(private readonly counters: BookCounters) {}

  get subscriptions(): ReadonlyMap<string, Required<SubscribeOptions>> {
    return this.subs;
  }

  /** Held topics and their states. */
  get held(): ReadonlyMap<string, TopicState> {
    return this.states;
  }

  subscribe(patterns: readonly string[], options: Required<SubscribeOptions>): void {
    for (const pattern of patterns) this.subs.set(pattern, options);
    this.matchCache.clear();
  }

  /** Drops subscriptions, and the state of topics no remaining subscription matches. */
  unsubscribe(patterns: readonly string[]): void {
    for (const pattern of patterns) this.subs.delete(pattern);
    this.matchCache.clear();
    for (const topic of [...this.states.keys()]) {
      if (!this.subscribed(topic)) this.states.delete(topic);
    }
  }

  /** Drops the state of one topic, so that its next snapshot or tick is taken as its first. */
  forget(topic: string): void {
    this.states.delete(topic);
  }

  /** Whether an acknowledged subscription matches `topic`. */
  subscribed(topic: string): boolean {
    let matched = this.matchCache.get(topic);
    if (matched === undefined) {
      matched = false;
      for (const pattern of this.subs.keys()) {
        if (patternMatches(pattern, topic)) {
          matched = true;
          break;
        }
      }
      this.matchCache.set(topic, matched);
    }
    return matched;
  }

  /** Applies a snapshot or tick event; returns the update when it changed the state, undefined when it was dropped (and counted). */
  apply(event: RecordEvent): Update | undefined {
    const { topic, epoch, seq, ts } = event;
    if (!this.subscribed(topic)) {
      this.counters.unsolicited++;
      return undefined;
    }
    const held = this.states.get(topic);
    const sequencing = sequence(held, event);
    if (sequencing === 'duplicate') {
      this.counters.duplicates++;
      return undefined;
    }
    if (sequencing === 'older') {
      this.counters.stale++;
      return undefined;
    }
    const skipped = sequencing === 'gap' ? seq - held!.seq - 1 : 0;
    const reset = sequencing === 'new_epoch';
    const state: TopicState = { epoch, seq, ts, record: event.data };
    this.states.set(topic, state);
    this.counters.applied++;
    this.counters.skipped += skipped;
    if (reset) this.counters.resets++;
    return { kind: event.type, topic, ...state, previous: held === undefined ? undefined : { epoch: held.epoch, seq: held.seq }, skipped, reset };
  }

  setStatus(event: StatusEvent): void {
    this.statuses.set(event.venue, event);
  }

  status(venue: string): StatusEvent | undefined {
    return this.statuses.get(venue);
  }
}
