import test from 'ava';
import WebSocket from 'ws';
import { connect, TickfanClient, TickfanError, type Update, type WebSocketConstructor } from '../../src/client/ws/index.js';
import { Fabric } from '../helpers/late-join.js';
import { startGateway, UpdateLog } from './helpers.js';

/**
 * SDK basics against the real thing: proxy, snapshot service, simulated feed and gateway in
 * one `tickfan start` process (nothing is restarted here), shared by the tests of this file.
 */

/** The built-in simulated instruments: 50 topics over SIM and SIMEQ. */
const TOPICS = 50;
let url: string;
let fabric: Fabric;

test.before(async () => {
  fabric = new Fabric({ TICKFAN_FEEDS_SIMULATED_RATE: '2000' });
  ({ url } = await startGateway(fabric, 0, 'proxy,snapshot,gateway,feed'));
  // Steady state first: every instrument of the feed has ticked, so every topic has a snapshot.
  const warmup = await connect(url);
  await warmup.subscribe('tick.*');
  await new Promise<void>((resolve) => {
    if (warmup.size === TOPICS) return resolve();
    const off = warmup.on('update', () => warmup.size === TOPICS && (off(), resolve()));
  });
  await warmup.close();
});

test.after.always(() => fabric?.kill());

async function client(t: { teardown(fn: () => unknown): void }, options: Parameters<typeof connect>[1] = {}): Promise<TickfanClient> {
  const c = await connect(url, options);
  t.teardown(() => c.close());
  return c;
}

test('subscribe resolves when confirmed; each topic gets its snapshot first, then ticks; get(topic) tracks the latest', async (t) => {
  const c = await client(t);
  const log = new UpdateLog(c);
  const latest = new Map<string, Update>();
  const firstKind = new Map<string, Update['kind']>();
  c.on('update', (update) => {
    if (!firstKind.has(update.topic)) firstKind.set(update.topic, update.kind);
    latest.set(update.topic, update);
  });
  const confirmed = await c.subscribe(['tick.SIM.BTC-USD', 'tick.SIMEQ.*']);
  t.deepEqual(confirmed, ['tick.SIM.BTC-USD', 'tick.SIMEQ.*']);
  t.deepEqual(c.subscriptions(), ['tick.SIM.BTC-USD', 'tick.SIMEQ.*']);
  // The snapshots come in the frame that confirms the subscription.
  const held = [...c.entries()].map(([topic]) => topic);
  t.is(held.length, 1 + TOPICS / 2, 'BTC-USD and the 25 SIMEQ instruments');
  t.true(held.every((topic) => topic === 'tick.SIM.BTC-USD' || topic.startsWith('tick.SIMEQ.')));
  t.true([...firstKind.values()].every((kind) => kind === 'snapshot'), 'the first update of every topic is its snapshot');

  await log.more(500);
  t.true(log.ticks > 0);
  t.deepEqual(log.violations, []);
  t.is(c.counters.unsolicited, 0, 'nothing outside the subscriptions arrived');
  for (const [topic, state] of c.entries()) {
    const last = latest.get(topic)!;
    t.deepEqual(state, { epoch: last.epoch, seq: last.seq, ts: last.ts, record: last.record }, `${topic}: get() is the latest update`);
    t.is(c.get(topic), state);
  }
  const btc = c.get('tick.SIM.BTC-USD')!;
  t.is(btc.record.venue, 'SIM');
  t.is(btc.record.symbol, 'BTC-USD');
  t.true(Number.isSafeInteger(btc.epoch) && btc.epoch > 0 && btc.seq > 0 && btc.ts > 1.7e15);
});

test('unsubscribe resolves when confirmed; no update of those patterns follows and their topics leave the view', async (t) => {
  const c = await client(t);
  await c.subscribe(['tick.SIM.*', 'tick.SIMEQ.AAPL']);
  const log = new UpdateLog(c);
  await log.more(100);
  t.true(c.size > 2);

  t.deepEqual(await c.unsubscribe('tick.SIM.*'), ['tick.SIM.*']);
  t.deepEqual(c.subscriptions(), ['tick.SIMEQ.AAPL']);
  t.deepEqual([...c.entries()].map(([topic]) => topic), ['tick.SIMEQ.AAPL']);
  const after: string[] = [];
  c.on('update', (update) => after.push(update.topic));
  await log.more(5);
  t.deepEqual([...new Set(after)], ['tick.SIMEQ.AAPL'], 'only the remaining subscription delivers');
  t.is(c.counters.unsolicited, 0, 'the server sent nothing of the dropped pattern after confirming');

  // Subscribing again starts afresh, with a snapshot.
  const kinds: string[] = [];
  c.on('update', (update) => update.topic === 'tick.SIM.ETH-USD' && kinds.push(update.kind));
  await c.subscribe('tick.SIM.ETH-USD');
  t.is(kinds[0], 'snapshot');
});

test('a refused request rejects with a TickfanError carrying the server code; nothing is subscribed and the connection goes on', async (t) => {
  const c = await client(t);
  const errors: TickfanError[] = [];
  c.on('error', (err) => errors.push(err));
  const refused = await t.throwsAsync(c.subscribe(['tick.SIM.BTC-USD', 'not a topic']), { instanceOf: TickfanError });
  t.is(refused!.code, 'BAD_TOPIC');
  t.is(typeof refused!.id, 'number', 'the error answered this request');
  t.regex(refused!.message, /not a topic/);
  t.deepEqual(c.subscriptions(), [], 'a subscribe with an invalid pattern is rejected whole');
  t.is(c.size, 0);

  const unsub = await t.throwsAsync(c.unsubscribe('tick..bad'), { instanceOf: TickfanError });
  t.is(unsub!.code, 'BAD_TOPIC');
  t.is(c.state, 'live');
  t.true((await c.ping()) >= 0);
  await c.subscribe('tick.SIM.BTC-USD');
  t.truthy(c.get('tick.SIM.BTC-USD'));
  t.deepEqual(errors, [], 'errors that answer a request are not also emitted');
});

// Serial (ava runs these before the others): a list concurrent with another client's first
// subscribe of the same prefix can be answered from a cache still empty (a gateway bug).
test.serial('list returns the known topics of a prefix; ping measures a round trip', async (t) => {
  const c = await client(t);
  const sim = await c.list('tick.SIM.');
  t.is(sim.length, TOPICS / 2);
  t.true(sim.every((topic) => topic.startsWith('tick.SIM.')));
  t.deepEqual(sim, [...sim].sort());
  t.deepEqual(await c.list('tick.NOPE.'), []);
  const [a, b] = await Promise.all([c.ping(), c.ping()]);
  t.true(a! >= 0 && b! >= 0);
});

test('updates() is an async iterator of applied updates, filtered by pattern; break detaches it, close() ends it', async (t) => {
  const c = await connect(url);
  t.teardown(() => c.close());
  await c.subscribe(['tick.SIM.*', 'tick.SIMEQ.*']);
  const seen: Update[] = [];
  for await (const update of c.updates(['tick.SIMEQ.*'])) {
    seen.push(update);
    if (seen.length === 200) break;
  }
  t.true(seen.every((update) => update.topic.startsWith('tick.SIMEQ.')));
  t.true(seen.every((update) => update.kind === 'tick'), 'updates from the moment of the call: the snapshots came before');

  const iterator = c.updates();
  const reading = (async () => {
    let count = 0;
    for await (const _ of iterator) count++;
    return count;
  })();
  await new UpdateLog(c).more(50);
  await c.close();
  t.true((await reading) >= 50, 'the loop ended when the client closed');
  t.is(c.state, 'closed');
  await t.throwsAsync(c.subscribe('tick.SIM.BTC-USD'), { instanceOf: TickfanError, message: /closed/ });
});

test('browser path: with a global WebSocket offering only the standard interface, the client uses it', async (t) => {
  const made: BrowserWebSocket[] = [];
  /** The browser's WebSocket surface, backed by ws: on* handlers, send, close, readyState; nothing else. */
  class BrowserWebSocket {
    static readonly OPEN = 1;
    onopen: ((event: unknown) => void) | null = null;
    onmessage: ((event: { data: unknown }) => void) | null = null;
    onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
    onerror: ((event: unknown) => void) | null = null;
    readonly #ws: WebSocket;
    constructor(address: string, protocols?: string | string[]) {
      if (arguments.length > 2) throw new Error('a browser WebSocket takes (url, protocols)');
      this.#ws = new WebSocket(address, protocols);
      this.#ws.onopen = (event) => this.onopen?.(event);
      this.#ws.onmessage = (event) => this.onmessage?.({ data: event.data });
      this.#ws.onclose = (event) => this.onclose?.({ code: event.code, reason: event.reason, wasClean: event.wasClean });
      this.#ws.onerror = (event) => this.onerror?.(event);
      made.push(this);
    }

    get readyState(): number {
      return this.#ws.readyState;
    }

    send(data: string): void {
      if (typeof data !== 'string') throw new Error('this test expects text frames only');
      this.#ws.send(data);
    }

    close(code?: number, reason?: string): void {
      this.#ws.close(code, reason);
    }
  }
  const global = globalThis as { WebSocket?: unknown };
  const saved = global.WebSocket;
  global.WebSocket = BrowserWebSocket as unknown as WebSocketConstructor;
  let connecting: Promise<TickfanClient>;
  try {
    connecting = connect(url.replace('/v1/ws', '')); // the path is added when missing
  } finally {
    global.WebSocket = saved;
  }
  const c = await connecting;
  t.teardown(() => c.close());
  t.is(made.length, 1, 'the global WebSocket was used');
  await c.subscribe('tick.SIM.*');
  await new UpdateLog(c).more(50);
  t.true(c.size > 10);
  await c.close();
  t.is(made[0]!.readyState, 3, 'closed');
});
