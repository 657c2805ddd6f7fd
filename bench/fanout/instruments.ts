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

/** The share of the topics that interestPatterns(_, share) really selects. */
export function selectedShare(share: number): number {
  return share >= 1 ? 1 : Math.max(1, Math.round(share * GROUPS)) / GROUPS;
}
