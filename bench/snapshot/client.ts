/**
 * Child program: snapshot clients (src/client/zmq SnapshotClient). The benchmark runs two
 * processes: one sends the SNAPSHOT and REPLAY series, the other PINGs alongside, so a stall
 * of the service shows up in the second one's latencies and not in the first one's own work.
 * Latency is request sent -> whole reply received; the reply's records are counted but not
 * decoded, so the client's own JSON parsing stays out of the service's numbers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SnapshotClient } from '../../src/client/zmq/index.js';
import { serve } from '../common/child.js';
import { encodeHistogram, latencyHistogram, recordLatency } from '../common/latency.js';

export interface Series {
  /** The successful requests' latencies: an encoded histogram (µs), see common/latency.ts. */
  readonly latency: string;
  /** Requests that failed, timed out, or were answered with something other than what was expected. */
  readonly errors: number;
  readonly firstError?: string;
  /** Bytes of the first reply (all frames), to show what a request moved. */
  readonly replyBytes?: number;
}

class SeriesBuilder {
  // The JavaScript build: a few thousand requests per series need no faster recording, nor its explicit destroy().
  private readonly latency = latencyHistogram();
  errors = 0;
  firstError: string | undefined;
  replyBytes: number | undefined;

  succeeded(latencyMs: number): void {
    recordLatency(this.latency, latencyMs * 1000);
  }

  fail(err: unknown): void {
    this.errors++;
    this.firstError ??= err instanceof Error ? err.message : String(err);
  }

  done(): Series {
    return {
      latency: encodeHistogram(this.latency),
      errors: this.errors,
      ...(this.firstError !== undefined && { firstError: this.firstError }),
      ...(this.replyBytes !== undefined && { replyBytes: this.replyBytes }),
    };
  }
}

let client: SnapshotClient | undefined;
/** Further clients of the same service, for PINGs sent on a schedule whatever is in flight. */
let pool: SnapshotClient[] = [];
let pinging: { control: { stop: boolean }; done: Promise<Series> } | undefined;

function connected(): SnapshotClient {
  if (client === undefined) throw new Error('call connect first');
  return client;
}

/** Sends `body` back to back until count or maxMs; each reply must be OK with `expect` records. */
async function series(body: string[], expect: number, count: number, maxMs: number): Promise<Series> {
  const snapshotClient = connected();
  const out = new SeriesBuilder();
  const deadline = performance.now() + maxMs;
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    const started = performance.now();
    try {
      const reply = await snapshotClient.request(body);
      const elapsed = performance.now() - started;
      const status = reply[0]?.toString();
      const records = Number(reply[1]?.toString());
      if (status !== 'OK' || records !== expect || reply.length !== 2 + 3 * records) {
        out.fail(new Error(`${body[0]} answered ${status} ${reply[1]?.toString()} ${status === 'ERR' ? reply[2]?.toString() : ''}, expected OK ${expect}`));
        continue;
      }
      out.replyBytes ??= reply.reduce((sum, frame) => sum + frame.length, 0);
      out.succeeded(elapsed);
    } catch (err) {
      out.fail(err);
    }
  }
  return out.done();
}

const methods = {
  /** Connects `clients` SnapshotClients (one per DEALER socket, as separate programs would) to the service. */
  async connect(params: { endpoint: string; timeoutMs: number; clients: number }): Promise<void> {
    for (const old of [client, ...pool]) old?.close();
    pool = Array.from({ length: params.clients }, () => new SnapshotClient({ endpoints: [params.endpoint], timeoutMs: params.timeoutMs }));
    client = pool[0]!;
    // The connection is made on the first request; keep that out of every measurement.
    await Promise.all(pool.map(async (c) => {
      for (let i = 0; i < 3; i++) await c.ping();
    }));
  },

  /** How many topics a SNAPSHOT of the prefix returns right now. */
  async count(params: { prefix: string }): Promise<number> {
    const reply = await connected().request(['SNAPSHOT', params.prefix]);
    if (reply[0]?.toString() !== 'OK') throw new Error(`SNAPSHOT answered ${reply.map(String).join(' ')}`);
    return Number(reply[1]?.toString());
  },

  async snapshots(params: { prefix: string; expect: number; count: number; maxMs: number }): Promise<Series> {
    return series(['SNAPSHOT', params.prefix], params.expect, params.count, params.maxMs);
  },

  async replays(params: { topic: string; epoch: number; fromSeq: number; expect: number; count: number; maxMs: number }): Promise<Series> {
    return series(['REPLAY', params.topic, String(params.epoch), String(params.fromSeq)], params.expect, params.count, params.maxMs);
  },

  /**
   * Starts a PING every intervalMs for at most maxMs, each from a client of the pool that has
   * none in flight, so PINGs keep being sent on schedule while the service stalls (an open
   * loop: a stall is sampled for as long as it lasts, not once). Latency counts from the
   * send; when every client of the pool was still waiting, from when the PING was due, so
   * even a stall longer than the pool covers weighs as long as it lasted.
   */
  async pingStart(params: { intervalMs: number; maxMs: number }): Promise<void> {
    if (pinging !== undefined) throw new Error('already pinging');
    connected();
    const control = { stop: false };
    const done = (async () => {
      const out = new SeriesBuilder();
      const free = [...pool];
      const freed: (() => void)[] = [];
      const inFlight = new Set<Promise<void>>();
      const started = performance.now();
      let due = started;
      while (!control.stop && performance.now() - started < params.maxMs) {
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const heldUp = free.length === 0;
        // Bounded: a PING in flight ends within the client's timeout.
        if (heldUp) await new Promise<void>((resolve) => freed.push(resolve));
        const pinger = free.pop()!;
        const sent = performance.now();
        const from = heldUp ? due : sent;
        const ping: Promise<void> = pinger.ping().then(
          () => out.succeeded(performance.now() - from),
          (err: unknown) => out.fail(err),
        ).finally(() => {
          free.push(pinger);
          freed.shift()?.();
          inFlight.delete(ping);
        });
        inFlight.add(ping);
        due += params.intervalMs;
        // Behind by more than a second (PINGs timing out): start afresh rather than burst.
        if (performance.now() - due > 1_000) due = performance.now();
      }
      await Promise.all(inFlight);
      return out.done();
    })();
    pinging = { control, done };
  },

  async pingStop(): Promise<Series> {
    const run = pinging;
    if (run === undefined) throw new Error('not pinging');
    run.control.stop = true;
    pinging = undefined;
    return run.done;
  },

  /** The epoch and newest seq the service holds for one topic (its name must be a prefix of no other). */
  async latest(params: { topic: string }): Promise<{ epoch: number; seq: number } | null> {
    const [message] = await connected().snapshot(params.topic);
    return message === undefined ? null : { epoch: message.header.epoch, seq: message.header.seq };
  },

  /** Polls until the service holds `seq` (or newer) for `topic`; resolves with how long that took, or null. */
  async waitSeq(params: { topic: string; seq: number; maxMs: number; pollMs: number }): Promise<number | null> {
    const started = performance.now();
    while (performance.now() - started < params.maxMs) {
      const [message] = await connected().snapshot(params.topic);
      if (message !== undefined && message.header.seq >= params.seq) return performance.now() - started;
      await sleep(params.pollMs);
    }
    return null;
  },

  /** Every topic's epoch and seq as the service holds them, decoded and validated like any client would. */
  async state(params: { prefix: string }): Promise<{ topics: string[]; seqs: number[]; epochs: number[] }> {
    const messages = await connected().snapshot(params.prefix);
    return {
      topics: messages.map((m) => m.topic),
      seqs: messages.map((m) => m.header.seq),
      epochs: messages.map((m) => m.header.epoch),
    };
  },
};

export type ClientMethods = typeof methods;

serve(methods, () => {
  if (pinging !== undefined) pinging.control.stop = true;
  for (const c of pool) c.close();
});
