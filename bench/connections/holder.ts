/**
 * Child program: holds a share of the benchmark's idle WebSocket clients, all from one local
 * address (127.0.0.x), each subscribed to the one topic every client follows. It reports when
 * they are subscribed, when a broadcast tick reached all of them (and how late), when the
 * gateway's death closed them, and when they were resumed with `since` on the restarted one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { nowMicros } from '../../src/wire/index.js';
import { serve } from '../common/child.js';
import { encodeHistogram, latencyHistogram, recordLatency } from '../common/latency.js';
import { RawWebSocket } from '../fanout/raw-client.js';
import { resumeRequest, subscribeRequest, type Position } from './requests.js';

/** Idle clients get small read buffers: the default one holds a busy client's flushes. */
const CLIENT_BUFFER_BYTES = 4 * 1024;
/** Connections being opened at once: more only overflow the gateway's listen backlog (SYN retries of a second and more). */
const OPENING_AT_ONCE = 250;
/**
 * Each client connects from a port it picks, PORT_BASE + round * clients + its index (round 0
 * connects, round 1 resumes, so a port the killed gateway's side may still hold in TIME_WAIT is
 * not taken again): bind() with an address and no port made the kernel search for a free one,
 * and that search took 3.5 s of system time for 9,000 connections against 0.3 s for 5,000.
 */
const PORT_BASE = 10_000;
const ROUNDS = 2;
/** How often a wait looks whether its condition holds. */
const CHECK_MS = 20;

class IdleClient {
  ws: RawWebSocket | undefined;
  /** The position of the topic the client has (from its snapshot, ticks or resume answer). */
  position: Position | undefined;
  subscribed = false;
  open = false;
  /** Set once the awaited broadcast tick came. */
  gotBroadcast = false;

  constructor(readonly index: number) {}
}

let params: { url: string; localAddress: string; topic: string } | undefined;
let clients: IdleClient[] = [];
/** The first thing that went wrong with any client, for the report. */
let problem: string | undefined;
/** Protocol errors seen (bad frames, error events, unexpected ticks). */
let errors = 0;
/** The broadcast being awaited: its seq, and the latencies and last arrival of its deliveries. */
let broadcast: { seq: number; latency: ReturnType<typeof latencyHistogram>; lastArrival: number; invalid: number } | undefined;

function fail(message: string): void {
  errors++;
  problem ??= message;
}

/** One frame from the gateway: a JSON array of events (PROTOCOL.md section 5), checked as a client would. */
function onFrame(client: IdleClient, text: string): void {
  const arrived = nowMicros();
  let events: unknown;
  try {
    events = JSON.parse(text);
  } catch {
    return fail(`client ${client.index}: a frame is not JSON: ${text.slice(0, 200)}`);
  }
  if (!Array.isArray(events)) return fail(`client ${client.index}: a frame is not an array: ${text.slice(0, 200)}`);
  for (const event of events as Record<string, unknown>[]) {
    switch (event.type) {
      case 'subscribed':
        client.subscribed = true;
        break;
      case 'snapshot':
      case 'tick':
        onRecord(client, event, arrived);
        break;
      case 'error':
        fail(`client ${client.index}: the gateway answered ${JSON.stringify(event)}`);
        break;
    }
  }
}

function onRecord(client: IdleClient, event: Record<string, unknown>, arrived: number): void {
  const { topic, epoch, seq, ts } = event;
  if (topic !== params!.topic || typeof epoch !== 'number' || typeof seq !== 'number' || typeof ts !== 'number') {
    return fail(`client ${client.index}: a record event is not of the topic or lacks epoch, seq or ts: ${JSON.stringify(event).slice(0, 200)}`);
  }
  client.position = { epoch, seq };
  if (broadcast === undefined || event.type !== 'tick' || client.gotBroadcast) return;
  if (seq !== broadcast.seq) {
    broadcast.invalid++;
    return fail(`client ${client.index}: expected the broadcast tick seq ${broadcast.seq}, got seq ${seq}`);
  }
  client.gotBroadcast = true;
  recordLatency(broadcast.latency, arrived - ts);
  broadcast.lastArrival = Math.max(broadcast.lastArrival, arrived);
}

/** Connects `client` and sends `request` once upgraded; resolves when the connection is up or gone. */
function open(client: IdleClient, url: string, localAddress: string, localPort: number, request: string): Promise<void> {
  client.subscribed = false;
  return new Promise((resolve) => {
    client.ws = new RawWebSocket(url, {
      message: (data, start, end) => onFrame(client, data.toString('utf8', start, end)),
      error: (err) => {
        if (!client.open) fail(`client ${client.index}: ${err.message}`);
      },
      close: () => {
        client.open = false;
        resolve();
      },
    }, () => {
      client.open = true;
      client.ws!.send(request);
      resolve();
    }, { localAddress, localPort, bufferBytes: CLIENT_BUFFER_BYTES });
  });
}

/** Opens every client, at most OPENING_AT_ONCE at a time, each with the request `requestOf` makes for it. */
async function openAll(round: number, requestOf: (client: IdleClient) => string): Promise<void> {
  const { url, localAddress } = params!;
  if (round >= ROUNDS || PORT_BASE + ROUNDS * clients.length > 65_536) throw new Error(`no local ports for round ${round} of ${clients.length} clients`);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < clients.length) {
      const client = clients[next++]!;
      await open(client, url, localAddress, PORT_BASE + round * clients.length + client.index, requestOf(client));
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPENING_AT_ONCE, clients.length) }, worker));
}

/** Resolves with true once `done()` holds, or false after timeoutMs. */
async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() >= deadline) return false;
    await sleep(CHECK_MS);
  }
  return true;
}

export interface Tally {
  /** Clients that reached the awaited state, and those that did not. */
  readonly done: number;
  readonly failed: number;
  /** Protocol errors so far (see `problem` for the first). */
  readonly errors: number;
  /** nowMicros() when the last of them got there. */
  readonly lastAt: number;
  readonly problem: string | undefined;
}

function tally(isDone: (client: IdleClient) => boolean): Tally {
  const done = clients.filter(isDone).length;
  return { done, failed: clients.length - done, errors, lastAt: nowMicros(), problem };
}

const methods = {
  /** Opens `count` clients from `localAddress`, each subscribing to `topic` with a snapshot; resolves once all are subscribed and hold its position. */
  async connect(p: { url: string; localAddress: string; topic: string; count: number; timeoutMs: number }): Promise<Tally> {
    params = { url: p.url, localAddress: p.localAddress, topic: p.topic };
    clients = Array.from({ length: p.count }, (_, i) => new IdleClient(i));
    const ready = (client: IdleClient): boolean => client.open && client.subscribed && client.position !== undefined;
    await Promise.race([openAll(0, () => subscribeRequest(p.topic)), sleep(p.timeoutMs)]);
    await until(() => clients.every(ready), p.timeoutMs);
    return tally(ready);
  },

  /** From now on, the tick `seq` of the topic is awaited by every client. */
  async arm(p: { seq: number }): Promise<void> {
    broadcast = { seq: p.seq, latency: latencyHistogram(), lastArrival: 0, invalid: 0 };
    for (const client of clients) client.gotBroadcast = false;
  },

  /** Waits until every client got the armed tick; its latencies (µs, encoded histogram) and the last arrival. */
  async delivered(p: { timeoutMs: number }): Promise<Tally & { latency: string; lastArrival: number }> {
    await until(() => clients.every((client) => client.gotBroadcast), p.timeoutMs);
    const result = { ...tally((client) => client.gotBroadcast), latency: encodeHistogram(broadcast!.latency), lastArrival: broadcast!.lastArrival };
    broadcast = undefined;
    return result;
  },

  /** Waits until every client's connection is gone (the gateway was killed). */
  async closed(p: { timeoutMs: number }): Promise<Tally> {
    await until(() => clients.every((client) => !client.open), p.timeoutMs);
    return tally((client) => !client.open);
  },

  /**
   * Reconnects every client, resuming with `since` its last position; resolves once each is
   * subscribed again and has the tick `seq` it missed (from history, REPLAY or a snapshot).
   */
  async resume(p: { url: string; seq: number; timeoutMs: number }): Promise<Tally> {
    params = { ...params!, url: p.url };
    // A client without a position never got its snapshot: it resumes nothing, and fails below.
    const resumed = (client: IdleClient): boolean => client.open && client.subscribed && (client.position?.seq ?? 0) >= p.seq;
    await Promise.race([openAll(1, (client) => resumeRequest(params!.topic, client.position)), sleep(p.timeoutMs)]);
    await until(() => clients.every(resumed), p.timeoutMs);
    return tally(resumed);
  },
};

export type HolderMethods = typeof methods;

serve(methods, () => {
  for (const client of clients) client.ws?.terminate();
});
