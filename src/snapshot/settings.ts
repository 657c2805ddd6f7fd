import type convict from 'convict';
import { checkedFormat, integerIn, splitList, ZMQ_ENDPOINT } from '../config/index.js';
import { CHECKSUM_DEPTH } from '../wire/index.js';
import { DEFAULT_MAX_BOOK_LEVELS } from './held-book.js';

export interface SnapshotSettings {
  readonly endpoint: string;
  readonly prefixes: readonly string[];
  readonly historyPerTopic: number;
  readonly historyMaxBytes: number;
  readonly maxTopics: number;
  readonly maxBookLevels: number;
  readonly maxRecords: number;
  readonly sendHwm: number;
  readonly persistFile: string;
  readonly persistIntervalMs: number;
}

function prefixListProblem(value: unknown): string | undefined {
  const ok = Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && /^[A-Za-z0-9_\-/:+=^.]{0,200}$/.test(v));
  return ok ? undefined : 'must be a non-empty list of topic prefixes (topic characters and dots, at most 200 bytes; "" for everything)';
}

/** The snapshot service's keys of the configuration (snapshot.*). */
export const snapshotSchema: convict.Schema<{ snapshot: SnapshotSettings }> = {
  snapshot: {
    endpoint: { doc: 'Where the snapshot service binds its ROUTER.', format: ZMQ_ENDPOINT, default: 'tcp://127.0.0.1:5557' },
    prefixes: {
      doc: 'Topic prefixes the snapshot service holds, comma-separated; "" holds everything.',
      format: checkedFormat('list of topic prefixes', prefixListProblem, splitList),
      default: [''],
    },
    historyPerTopic: { doc: 'Messages of history kept per topic for REPLAY.', format: integerIn(1, 1_000_000), default: 1000 },
    historyMaxBytes: {
      doc: 'Memory cap of all history; when reached, every topic keeps an equal smaller share (at least its current state).',
      format: integerIn(1024, 64 * 1024 ** 3), default: 256 * 1024 ** 2,
    },
    maxTopics: { doc: 'Topics held at most; messages of further topics are refused and counted.', format: integerIn(1, 10_000_000), default: 1_000_000 },
    maxBookLevels: {
      doc: 'Levels per side a book topic may hold (a guard: a source\'s configured depth keeps books far smaller); a book beyond it is left out of SNAPSHOT replies, counted, until a snapshot record of it fits.',
      format: integerIn(CHECKSUM_DEPTH, 1_000_000), default: DEFAULT_MAX_BOOK_LEVELS,
    },
    maxRecords: { doc: 'Records one SNAPSHOT reply may carry; beyond it the reply is ERR TOO_LARGE.', format: integerIn(1, 10_000_000), default: 100_000 },
    sendHwm: {
      doc: 'Replies queued per client of the ROUTER; a reply can be a whole snapshot, so keep it small. Beyond it replies to that client are dropped (it times out and retries).',
      format: integerIn(1, 10_000), default: 16,
    },
    persistFile: {
      doc: 'Where the last-value cache is saved (periodically and on shutdown) and reloaded from at start; "" disables.',
      format: String, default: 'var/snapshot.ndjson',
    },
    persistIntervalMs: { doc: 'How often the last-value cache is saved when it changed.', format: integerIn(100, 3_600_000), default: 5000 },
  },
};
