import { rename } from 'node:fs/promises';
import { LineSet, lineProbe } from '../client/zmq/index.js';
import type { LineView } from '../metrics/index.js';
import { lineOptions, type ConnectSettings, type SubscriberSettings, type ZmqSettings } from '../config/index.js';
import { ThrottledWarning, type Logger } from '../log/index.js';
import type { RoleContext, RoleHandle } from '../role/index.js';
import { registerSnapshotMetrics } from './metrics.js';
import { CorruptSnapshotFile, loadSnapshotFile, saveSnapshotFile } from './persist.js';
import { SnapshotService } from './service.js';
import type { SnapshotSettings } from './settings.js';
import { SnapshotStore } from './store.js';

/** What the snapshot role reads of the configuration: its own keys, where the proxy backend is, and socket settings. */
export interface SnapshotRoleConfig {
  readonly snapshot: SnapshotSettings;
  readonly connect: Pick<ConnectSettings, 'backend'>;
  readonly subscriber: SubscriberSettings;
  readonly zmq: ZmqSettings;
}

export interface SnapshotRole extends RoleHandle {
  readonly store: SnapshotStore;
  readonly service: SnapshotService;
  /** The lines to the fabric: their state, duplicates and holes. */
  readonly lines: LineView;
  /** Messages from the proxy that failed to decode, by reason. */
  readonly rejected: ReadonlyMap<string, number>;
  /** The ROUTER endpoint actually bound. */
  readonly endpoint: string;
}

/**
 * The snapshot role: subscribes to the proxy backend, keeps the last value and a bounded
 * history of every topic, answers SNAPSHOT/REPLAY/PING, and saves its last values so a
 * restart serves them again at once (their epoch tells clients whether the source moved on).
 */
export async function startSnapshotRole(config: SnapshotRoleConfig, log: Logger, { security }: RoleContext): Promise<SnapshotRole> {
  const settings = config.snapshot;
  const curve = security.clientKeys();
  const warnings = new ThrottledWarning(log);
  const store = new SnapshotStore(settings, {
    // Keyed by topic: one line per book and incident (at most one per interval for a book that keeps failing), not one per record.
    onIncompleteBook: (topic, reason) => warnings.warn(`book ${topic}`, { topic, reason }, 'book topic incomplete: left out of SNAPSHOT until a snapshot record of it arrives'),
  });
  await reload(store, settings.persistFile, log);

  const startedAt = performance.now();
  let everUp = false;
  const stream = new LineSet({
    ...lineOptions(config),
    endpoints: config.connect.backend,
    prefixes: settings.prefixes,
    curve,
    onReject: (err) => warnings.warn(err.reason, {}, `message dropped: ${err.message}`),
  });
  const probe = lineProbe(config.connect.backend, { intervalMs: config.zmq.heartbeatIntervalMs, timeoutMs: config.zmq.heartbeatTimeoutMs, curve }, log, (up) => (everUp ||= up));
  let changed = false;
  // Ingest never waits, so each message is handed over as it is received (no queue, no promise per tick).
  const ingesting = stream.forEach((message) => {
    const result = store.ingest(message);
    if (result !== 'duplicate' && result !== 'topic_limit') changed = true;
    if (result === 'topic_limit') warnings.warn('topic_limit', { maxTopics: settings.maxTopics }, 'topic refused: snapshot.maxTopics reached');
  });

  // Cut off once every line is down; at start-up only after a line had a heartbeat timeout to
  // come up, so reloaded state is served at once, as before the first handshake completes.
  const cutOff = () => {
    if (probe.anyUp || (!everUp && performance.now() - startedAt < config.zmq.heartbeatTimeoutMs)) return undefined;
    return `no line to the fabric is up (${config.connect.backend.join(', ')}): the state may be stale`;
  };
  const service = new SnapshotService(store, { ...settings, replyQueueLimit: 10_000, lingerMs: config.zmq.lingerMs, cutOff, security }, log);
  let endpoint: string;
  try {
    endpoint = await service.start();
  } catch (err) {
    // Nothing may keep the process alive after a failed start: the probe's socket neither.
    probe.close();
    stream.close();
    throw err;
  }

  const persist = async () => {
    if (!settings.persistFile || !changed) return;
    changed = false;
    const count = await saveSnapshotFile(settings.persistFile, store.latestMessages());
    log.debug({ file: settings.persistFile, topics: count }, 'snapshot saved');
  };
  const timer = setInterval(() => {
    persist().catch((err: Error) => log.error({ err: err.message, file: settings.persistFile }, 'snapshot save failed'));
  }, settings.persistIntervalMs);
  timer.unref();

  const role: SnapshotRole = {
    store,
    service,
    lines: {
      // Up as the probe sees it (heartbeats); duplicates, overruns and holes as the data lines counted them.
      lines: () => probe.lines().map((line, i) => ({ ...line, duplicates: stream.lines()[i]!.duplicates, overruns: stream.lines()[i]!.overruns })),
      holes: () => stream.holes(),
    },
    get rejected() {
      return stream.rejected;
    },
    endpoint,
    registerMetrics: (registry) => registerSnapshotMetrics(registry, role),
    // Bound (not rebuilding after a revocation), and connected to the fabric: it answers from what it holds (possibly reloaded) while the stream catches up.
    ready: () => probe.anyUp && service.listening,
    async stop() {
      clearInterval(timer);
      probe.close();
      stream.close();
      await ingesting;
      await service.close();
      await persist().catch((err: Error) => log.error({ err: err.message, file: settings.persistFile }, 'snapshot save failed'));
      log.info({ topics: store.topicCount, counts: store.counts, requests: Object.fromEntries(service.requests) }, 'snapshot stopped');
    },
  };
  return role;
}

async function reload(store: SnapshotStore, file: string, log: Logger): Promise<void> {
  if (!file) return;
  try {
    const records = await loadSnapshotFile(file);
    for (const message of records) store.restore(message);
    log.info({ file, topics: records.length }, 'snapshot reloaded');
  } catch (err) {
    if (!(err instanceof CorruptSnapshotFile)) throw new Error(`cannot read snapshot file ${file} (setting snapshot.persistFile): ${(err as Error).message}`);
    // Kept aside for a post-mortem instead of being overwritten by the next save.
    const aside = `${file}.corrupt`;
    await rename(file, aside).catch(() => undefined);
    log.error({ file, movedTo: aside, err: err.message }, 'snapshot file is corrupt or truncated: ignored, starting empty');
  }
}
