/**
 * The one ordering rule of the contract (PROTOCOL.md sections 3 and 4): how a message of a
 * topic relates to the state held for it. Every role and both SDKs decide with this function,
 * so they agree on what a topic's state is. Browser-safe: no Node imports.
 */
import { nowMicros } from './time.js';

/** Where a message (or a held state) stands: its source's run, its place in that run, its publication time. */
export interface Stamp {
  readonly epoch: number;
  readonly seq: number;
  /** Header ts: microseconds since the Unix epoch at which the source published. */
  readonly ts: number;
}

/**
 * - `first`: nothing is held for the topic; the message is its state.
 * - `duplicate`: same epoch, seq not above the held one: already applied.
 * - `next`: same epoch, seq = held + 1: apply.
 * - `gap`: same epoch, seq beyond held + 1: messages are missing in between.
 * - `new_epoch`: another run of the source that is newer: it restarted; take the message as the state.
 * - `older`: another run that is not newer: a previous run's leftover (a late line, a queue); drop it.
 */
export type Sequencing = 'first' | 'duplicate' | 'next' | 'gap' | 'new_epoch' | 'older';

/**
 * How far ahead of this process's clock a publication time may be and still outrank other
 * runs. Epochs are random, so only the sources' clocks order two runs of a topic; a held state
 * claiming a time further ahead than this (a broken clock, a hostile publisher sending
 * ts = 2^53-1) outranks nothing, so one such message cannot freeze a topic: the next message
 * of a real run replaces it. Hosts kept within this of each other (NTP) order runs exactly.
 */
export const MAX_CLOCK_AHEAD_US = 2_000_000;

/**
 * Classifies `message` against `held` (undefined when nothing is held). `nowUs` is this
 * process's clock, read only when the epochs differ.
 */
export function sequence(held: Stamp | undefined, message: Stamp, nowUs?: number): Sequencing {
  if (held === undefined) return 'first';
  if (message.epoch === held.epoch) {
    if (message.seq <= held.seq) return 'duplicate';
    return message.seq === held.seq + 1 ? 'next' : 'gap';
  }
  if (message.ts > held.ts) return 'new_epoch';
  return held.ts > (nowUs ?? nowMicros()) + MAX_CLOCK_AHEAD_US ? 'new_epoch' : 'older';
}

/** Whether a message so classified changes the held state (it is newer than what is held). */
export function advances(sequencing: Sequencing): boolean {
  return sequencing !== 'duplicate' && sequencing !== 'older';
}

/** Whether `message` is newer than `held`: what a state that keeps only the newest record applies. */
export function isNewer(held: Stamp | undefined, message: Stamp, nowUs?: number): boolean {
  return advances(sequence(held, message, nowUs));
}
