/**
 * The fan-out bench's 1,000 instruments, tick.BENCH.G07-S0107 and so on: the group prefix
 * lets a client select a share of the topics with a handful of `*` patterns.
 */
import { tickTopic } from '../../src/wire/index.js';

export const VENUE = 'BENCH';
export const INSTRUMENTS = 1_000;
/** Instrument i is in group i % GROUPS, so each group holds INSTRUMENTS / GROUPS instruments. */
const GROUPS = 100;
const EVERYTHING = 'tick.*';

export function symbolOf(index: number): string {
  return `G${String(index % GROUPS).padStart(2, '0')}-S${String(index).padStart(4, '0')}`;
}

export function topicOf(index: number): string {
  return tickTopic(VENUE, symbolOf(index));
}

/**
 * The patterns of client `client` for an interest of `share` (0 to 1) of the topics: one
 * pattern per group, groups spread so that different clients pick different ones.
 */
export function interestPatterns(client: number, share: number): string[] {
  if (share >= 1) return [EVERYTHING];
  const groups = Math.max(1, Math.round(share * GROUPS));
  const stride = Math.floor(GROUPS / groups);
  return Array.from({ length: groups }, (_, k) => {
    const group = (client + k * stride) % GROUPS;
    return `${tickTopic(VENUE, `G${String(group).padStart(2, '0')}-`)}*`;
  });
}

/**
 * The NATS subject of a topic: NATS wildcards match whole `.`-separated tokens, so the group
 * becomes a token of its own (tick.BENCH.G07-S0107 -> tick.BENCH.G07.S0107) and a group
 * pattern can select it.
 */
export function natsSubjectOf(topic: string): string {
  const dash = topic.lastIndexOf('-');
  return `${topic.slice(0, dash)}.${topic.slice(dash + 1)}`;
}

/** The NATS subjects that select what each of interestPatterns' patterns selects. */
export function natsInterestSubjects(client: number, share: number): string[] {
  return interestPatterns(client, share).map((pattern) => {
    if (pattern === EVERYTHING) return 'tick.>';
    if (!pattern.endsWith('-*')) throw new Error(`no NATS subject for the pattern ${pattern}`);
    return `${pattern.slice(0, -2)}.*`;
  });
}

/** The share of the topics that interestPatterns(_, share) really selects. */
export function selectedShare(share: number): number {
  return share >= 1 ? 1 : Math.max(1, Math.round(share * GROUPS)) / GROUPS;
}
