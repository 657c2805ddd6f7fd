import { createServer } from 'node:net';
import WebSocket from 'ws';
import type { StateChange, TickfanClient, TopicState, Update, WebSocketConstructor } from '../../src/client/ws/index.js';
import type { ExecutionContext } from 'ava';
import { Fabric, Witness, type FinalState } from '../helpers/late-join.js';
import type { TickfanProcess } from '../helpers/tickfan-process.js';
import { Conditions } from '../helpers/conditions.js';

/**
 * Helpers of the WebSocket client tests: the fabric with a gateway, a socket class whose
 * instances the test can reach (to kill them), a check of every applied update, and waits
 * on the client's events instead of sleeps.
 */

/** A free TCP port on loopback: bound on 0, read, released, for a process to take next. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts a gateway process (or, with `roles`, a process of several roles including the
 * gateway); resolves with it and the URL it serves once it listens. Port 0 picks a free one.
 */
export async function startGateway(fabric: Fabric, port = 0, roles = 'gateway'): Promise<{ gateway: TickfanProcess; url: string }> {
  const gateway = await fabric.start(roles, { TICKFAN_GATEWAY_PORT: String(port) });
  const listening = await gateway.waitForLog('gateway listening');
  return { gateway, url: `ws://127.0.0.1:${listening.port as number}/v1/ws` };
}

/** The `ws` WebSocket class, recording every socket it makes so a test can terminate the live one. */
export function recordingWebSocket(): { WebSocket: WebSocketConstructor; sockets: WebSocket[] } {
  const sockets: WebSocket[] = [];
  class Recording extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      sockets.push(this);
    }
  }
  return { WebSocket: Recording as unknown as WebSocketConstructor, sockets };
}

/** Resolves with the next state change that passes `match` (bounded in time). */
export function nextState(client: TickfanClient, match: (change: StateChange) => boolean, timeoutMs = 15_000): Promise<StateChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for a state change (state is ${client.state})`));
    }, timeoutMs);
    const off = client.on('state', (change) => {
      if (!match(change)) return;
      off();
      clearTimeout(timer);
      resolve(change);
    });
  });
}

/**
 * Every update a client applies, checked as it comes: within one epoch of a topic each seq
 * must be above the previous one (nothing applied twice, nothing older after newer). Also
 * counts the jumps (seq > previous + 1) and the updates since a mark.
 */
export class UpdateLog {
  applied = 0;
  snapshots = 0;
  ticks = 0;
  /** Updates that skipped seqs within an epoch, with how many. */
  gaps = 0;
  skippedSeqs = 0;
  readonly violations: string[] = [];
  /** Per topic, per epoch: the highest seq applied. */
  private readonly highest = new Map<string, Map<number, number>>();
  private readonly conditions = new Conditions();
  private readonly off: () => void;

  constructor(readonly client: TickfanClient) {
    this.off = client.on('update', (update) => this.check(update));
  }

  /** Resolves once `count` more updates have been applied (bounded in time). */
  more(count: number, timeoutMs = 15_000): Promise<void> {
    const target = this.applied + count;
    return this.conditions.until(() => this.applied >= target, timeoutMs, () => `${count} more updates (${target - this.applied} to go)`);
  }

  /** Resolves once the client's state equals `truth` (epoch, seq per topic, and nothing else held). */
  converged(truth: FinalState, timeoutMs = 15_000): Promise<void> {
    const differing = () => differingTopics(this.client, truth);
    return this.conditions.until(() => differing().length === 0, timeoutMs, () => {
      const sample = differing().slice(0, 3).map((topic) => `${topic}: has ${show(this.client.get(topic))}, source ${show(truth.get(topic))}`);
      return `the client to converge (${differing().length} topics differ: ${sample.join('; ')})`;
    });
  }

  stop(): void {
    this.off();
  }

  private check(update: Update): void {
    this.applied++;
    if (update.kind === 'snapshot') this.snapshots++;
    else this.ticks++;
    let epochs = this.highest.get(update.topic);
    if (epochs === undefined) this.highest.set(update.topic, (epochs = new Map()));
    const highest = epochs.get(update.epoch);
    if (highest !== undefined && update.seq <= highest) {
      if (this.violations.length < 20) this.violations.push(`${update.topic} epoch ${update.epoch}: seq ${update.seq} (${update.kind}) applied after ${highest}`);
    } else {
      if (highest !== undefined && update.seq > highest + 1) {
        this.gaps++;
        this.skippedSeqs += update.seq - highest - 1;
      }
      epochs.set(update.epoch, update.seq);
    }
    this.conditions.check();
  }


}

function differingTopics(client: TickfanClient, truth: FinalState): string[] {
  const topics = new Set([...truth.keys(), ...[...client.entries()].map(([topic]) => topic)]);
  return [...topics].filter((topic) => {
    const want = truth.get(topic);
    const have = client.get(topic);
    return want === undefined || have === undefined || want.epoch !== have.epoch || want.seq !== have.seq;
  });
}

function show(entry: { epoch: number; seq: number } | undefined): string {
  return entry === undefined ? 'nothing' : `epoch ${entry.epoch} seq ${entry.seq}`;
}

/** The client's state as plain sorted data, for deepEqual with the source's (record as the source published it). */
export function plainState(entries: Iterable<[string, TopicState | { epoch: number; seq: number; ts: number; record: unknown }]>): Record<string, { epoch: number; seq: number; ts: number; record: unknown }> {
  const out: Record<string, { epoch: number; seq: number; ts: number; record: unknown }> = {};
  for (const [topic, { epoch, seq, ts, record }] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[topic] = { epoch, seq, ts, record };
  return out;
}

export interface FabricWithFeed {
  readonly fabric: Fabric;
  /** Every message the proxy sent: the source's truth. */
  readonly witness: Witness;
  readonly feed: TickfanProcess;
}

/** Proxy, a witness on it, a snapshot service and the simulated feed, each a CLI process with `env`, torn down with the test. */
export async function startFabricWithFeed(t: ExecutionContext, env: Record<string, string>): Promise<FabricWithFeed> {
  const fabric = new Fabric(env);
  t.teardown(() => fabric.kill());
  await fabric.start('proxy');
  const witness = new Witness(fabric.backend);
  t.teardown(() => witness.close());
  await fabric.startSnapshot();
  const feed = await fabric.start('feed');
  return { fabric, witness, feed };
}
