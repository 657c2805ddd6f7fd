/** Shared helpers for the src/snapshot tests (not a test file itself). */
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';
import { SnapshotStore, type StoreLimits, type StoredMessage } from '../../src/snapshot/store.js';
import {
  HEADER_BYTES, decodeMessage, encodeBookRecord, encodeMessage, encodeStatusRecord, encodeTickRecord, parseTopic, type BookRecord, type DecodedBook,
  type DecodedMessage,
} from '../../src/wire/index.js';

/** Runs a fast-check property as one AVA assertion; a counterexample fails the test with fast-check's report. */
export function holds<Ts>(t: ExecutionContext, property: fc.IProperty<Ts>, params?: fc.Parameters<Ts>): void {
  t.notThrows(() => fc.assert(property, params));
}

export interface MessageOptions {
  /**
   * Header ts; defaults to a value derived from epoch and seq, so a larger epoch is a later run of
   * the source (the ordering rule ranks runs by their publication time) and seqs rise within it.
   */
  readonly ts?: number;
  /**
   * The size the store accounts for the message (topic + header + payload bytes); the payload is
   * padded with an extra field to reach it exactly.
   */
  readonly size?: number;
}

/**
 * A valid live message (flags 0) as it would come off the proxy, built with the src/wire encoders:
 * a tick record for `tick.` topics, a status record for `status.` topics. The payload varies with
 * epoch and seq so that every message's bytes are distinct.
 */
export function message(topic: string, epoch: number, seq: number, options: MessageOptions = {}): DecodedMessage {
  const payloadOf = (pad: string): Buffer => {
    const parsed = parseTopic(topic);
    const extra = pad === '' ? {} : { pad };
    return parsed.kind === 'tick'
      ? encodeTickRecord({ venue: parsed.venue, symbol: parsed.symbol, bid: seq, ask: epoch, ...extra })
      : encodeStatusRecord({ venue: parsed.venue, state: seq % 2 ? 'up' : 'stale', reason: `seq ${seq}`, ...extra });
  };
  let payload = payloadOf('');
  if (options.size !== undefined) {
    const overhead = Buffer.byteLength(topic) + HEADER_BYTES + payloadOf('x').length - 1;
    if (options.size < overhead) throw new Error(`a message of ${topic} takes at least ${overhead} bytes, ${options.size} asked`);
    payload = payloadOf('x'.repeat(options.size - overhead));
  }
  const frames = encodeMessage(topic, { flags: 0, epoch, seq, ts: options.ts ?? 1_764_070_000_000_000 + epoch * 1_000_000 + seq }, payload);
  return decodeMessage(frames);
}

/** A live message (flags 0) of a `book.` topic carrying `record`, its header ts derived from epoch and seq as message()'s. */
export function bookMessage(topic: string, epoch: number, seq: number, record: BookRecord): DecodedBook {
  const frames = encodeMessage(topic, { flags: 0, epoch, seq, ts: 1_764_070_000_000_000 + epoch * 1_000_000 + seq }, encodeBookRecord(record));
  return decodeMessage(frames) as DecodedBook;
}

/** The bytes the store accounts for one message (mirrors its own accounting: topic + header + payload). */
export function sizeOf(stored: { readonly frames: readonly Buffer[] }): number {
  return stored.frames[0]!.length + HEADER_BYTES + stored.frames[2]!.length;
}

/** The bytes the store accounts for a list of messages. */
export function bytesOf(messages: readonly { readonly frames: readonly Buffer[] }[]): number {
  return messages.reduce((sum, m) => sum + sizeOf(m), 0);
}

export const roomyLimits: StoreLimits = { historyPerTopic: 1000, historyMaxBytes: 1024 ** 3, maxTopics: 1_000_000 };

export function storeWith(limits: Partial<StoreLimits>, ...messages: DecodedMessage[]): SnapshotStore {
  const store = new SnapshotStore({ ...roomyLimits, ...limits });
  for (const m of messages) store.ingest(m);
  return store;
}

/** Messages seq `from`..`to` of one topic and epoch. */
export function run(topic: string, epoch: number, from: number, to: number, options?: MessageOptions): DecodedMessage[] {
  const messages: DecodedMessage[] = [];
  for (let seq = from; seq <= to; seq++) messages.push(message(topic, epoch, seq, options));
  return messages;
}

/**
 * The history a store retains for a topic, observed through REPLAY only: the longest run of the
 * current epoch that a REPLAY answers OK for. Undefined for a topic the store does not hold.
 */
export function retainedHistory(store: SnapshotStore, topic: string): StoredMessage[] | undefined {
  const latest = store.get(topic);
  if (latest === undefined) return undefined;
  // The seqs a REPLAY answers OK for are a contiguous range ending at newest + 1: binary-search its start.
  let low = 1;
  let high = latest.seq + 1;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (store.replay(topic, latest.epoch, middle).kind === 'ok') high = middle;
    else low = middle + 1;
  }
  const answer = store.replay(topic, latest.epoch, low);
  if (answer.kind !== 'ok') throw new Error(`REPLAY ${topic} ${latest.epoch} ${low} answered ${answer.kind}: ${answer.reason}`);
  return [...answer.messages];
}

/** The StoredMessage view of a decoded message, as the store keeps it. */
export function stored(m: DecodedMessage): StoredMessage {
  return { epoch: m.header.epoch, seq: m.header.seq, ts: m.header.ts, frames: m.frames };
}
