import test from 'ava';
import fc from 'fast-check';
import type { WebSocket } from 'ws';
import { EventCache } from '../../src/gateway/cache.js';
import { outbound } from '../../src/gateway/frames.js';
import { Session } from '../../src/gateway/session.js';
import { CloseCode } from '../../src/wire/websocket.js';
import { FakeSocket, type SentEvent } from './_fake-socket.js';

const HIGH_WATER = 1000;

/** A session on its own; it leaves conflation as soon as a frame finds it keeping up (conflationHoldMs 0) unless told otherwise. */
function session(limits: { maxQueuedEvents?: number } = {}): { s: Session; socket: FakeSocket; slowCloses: () => number } {
  const socket = new FakeSocket();
  let slowCloses = 0;
  const s = new Session('test', socket as unknown as WebSocket, { bufferedHighWater: HIGH_WATER, maxQueuedEvents: limits.maxQueuedEvents ?? 10, conflationHoldMs: 0 }, () => slowCloses++);
  return { s, socket, slowCloses: () => slowCloses };
}

/** An event text in the cache's layout (src/gateway/cache.ts). */
function tick(topic: string, epoch: number, seq: number, type = 'tick'): string {
  return `{"type":"${type}","topic":${JSON.stringify(topic)},"epoch":${epoch},"seq":${seq},"ts":${seq * 10},"data":{"venue":"V","symbol":"S","bid":${seq}}}`;
}

function offer(s: Session, topic: string, epoch: number, seq: number, type = 'tick'): boolean {
  return s.offer(topic, epoch, seq, outbound(tick(topic, epoch, seq, type), topic));
}

const control = (n: number): string => JSON.stringify({ type: 'pong', id: n, n });

test('a flush sends everything pending as one JSON array frame, in order', (t) => {
  const { s, socket } = session();
  s.sendControl(control(1));
  offer(s, 'tick.V.A', 1, 1, 'snapshot');
  offer(s, 'tick.V.A', 1, 2);
  s.sendControl(control(2));
  t.is(s.pending, 4);
  s.flush();
  t.is(socket.frames.length, 1);
  t.deepEqual(socket.events().map((e) => [e.type, e.seq ?? e.n]), [['pong', 1], ['snapshot', 1], ['tick', 2], ['pong', 2]]);
  t.is(s.pending, 0);
  s.flush();
  t.is(socket.frames.length, 1, 'nothing pending: no empty frame');
  t.deepEqual(s.counters, { eventsSent: 4, framesSent: 1, bytesSent: socket.frames[0]!.length, conflated: 0 });
});

test('a resume point holds back what the client already has, until the first newer tick passes; other topics are not held', (t) => {
  const { s, socket } = session();
  s.resumeFrom('tick.V.A', 7, 5);
  t.false(offer(s, 'tick.V.A', 7, 5), 'the resume point itself');
  t.false(offer(s, 'tick.V.A', 7, 3), 'older');
  t.deepEqual(s.resumePoint('tick.V.A'), { epoch: 7, seq: 5 });
  t.true(offer(s, 'tick.V.A', 7, 6));
  t.is(s.resumePoint('tick.V.A'), undefined, 'passed: gone');
  t.true(offer(s, 'tick.V.B', 7, 1), 'topics are independent');
  s.resumeFrom('tick.V.C', 7, 9);
  t.true(offer(s, 'tick.V.C', 8, 1), 'a restarted source (new epoch) passes a resume point');
  s.flush();
  t.deepEqual(socket.events().map((e) => `${e.topic}@${e.epoch}:${e.seq}`), ['tick.V.A@7:6', 'tick.V.B@7:1', 'tick.V.C@8:1']);
});

test('forget drops a topic\'s resume point, so a new subscription to it starts afresh', (t) => {
  const { s, socket } = session();
  s.resumeFrom('tick.V.A', 3, 10);
  t.false(offer(s, 'tick.V.A', 3, 10));
  s.forget('tick.V.A');
  t.is(s.resumePoint('tick.V.A'), undefined);
  t.true(offer(s, 'tick.V.A', 3, 10, 'snapshot'), 'after forget the same seq may come again, as a new subscription snapshot');
  s.flush();
  t.deepEqual(socket.events().map((e) => `${e.type}:${e.seq}`), ['snapshot:10']);
});

test('a client that keeps up is never conflated, however many events one turn queues', (t) => {
  const { s, socket } = session({ maxQueuedEvents: 10 });
  for (let seq = 1; seq <= 100; seq++) offer(s, 'tick.V.A', 1, seq);
  t.false(s.conflating);
  s.flush();
  t.deepEqual(socket.events().map((e) => e.seq), Array.from({ length: 100 }, (_, i) => i + 1));
});

test('behind (socket over its high-water mark): nothing is sent; past maxQueuedEvents only the newest per topic is kept', (t) => {
  const { s, socket } = session({ maxQueuedEvents: 10 });
  s.sendControl(control(1));
  offer(s, 'tick.V.A', 1, 1, 'snapshot');
  offer(s, 'tick.V.B', 1, 1, 'snapshot');
  s.flush();
  socket.bufferedAmount = HIGH_WATER + 1;
  const topics = ['tick.V.A', 'tick.V.B', 'tick.V.C'];
  for (let seq = 2; seq <= 500; seq++) {
    for (const topic of topics) offer(s, topic, 1, seq);
    if (seq === 100) s.sendControl(control(2));
    s.flush();
    t.true(s.pending <= Math.max(10, topics.length + 1) + 1, `pending ${s.pending} stays bounded`);
  }
  t.true(s.conflating);
  t.is(s.pending, topics.length + 1, 'one tick per topic and the control event');
  t.is(socket.frames.length, 1, 'nothing sent while behind');
  socket.bufferedAmount = 0;
  s.flush();
  t.false(s.conflating, 'caught up');
  const events = socket.events();
  t.deepEqual(events.slice(3).map((e) => (e.type === 'tick' ? `${e.topic}:${e.seq}` : `${e.type}:${e.n}`)), ['pong:2', 'tick.V.A:500', 'tick.V.B:500', 'tick.V.C:500']);
  t.true(s.counters.conflated > 1000);
  offer(s, 'tick.V.A', 1, 501);
  offer(s, 'tick.V.A', 1, 502);
  s.flush();
  t.deepEqual(socket.events().slice(7).map((e) => e.seq), [501, 502], 'back to every tick once caught up');
});

test('a client still behind after a conflated frame goes on conflating (at most one pending per topic)', (t) => {
  const { s, socket } = session({ maxQueuedEvents: 50 });
  socket.bufferedAmount = HIGH_WATER + 1;
  for (let seq = 1; seq <= 60; seq++) offer(s, `tick.V.T${seq % 3}`, 1, seq);
  t.true(s.conflating);
  // The socket drains a little, the conflated frame goes out and fills it again.
  socket.bufferedAmount = 0;
  socket.growPerFrame = HIGH_WATER + 1;
  s.flush();
  t.is(socket.frames.length, 1);
  t.true(s.conflating, 'still behind after the frame: conflating on');
  for (let seq = 61; seq <= 200; seq++) {
    offer(s, `tick.V.T${seq % 3}`, 1, seq);
    t.true(s.pending <= 3, `pending ${s.pending} <= one per topic`);
  }
});

test('a pending snapshot replaced by a newer tick is still delivered as a snapshot event', (t) => {
  const { s, socket } = session({ maxQueuedEvents: 2 });
  socket.bufferedAmount = HIGH_WATER + 1;
  offer(s, 'tick.V.A', 1, 10, 'snapshot');
  offer(s, 'tick.V.B', 1, 10, 'snapshot');
  offer(s, 'tick.V.A', 1, 11);
  offer(s, 'tick.V.A', 1, 12);
  offer(s, 'tick.V.B', 1, 11);
  t.true(s.conflating);
  socket.bufferedAmount = 0;
  s.flush();
  t.deepEqual(socket.events().map((e) => `${e.type}:${e.topic}:${e.seq}`), ['snapshot:tick.V.A:12', 'snapshot:tick.V.B:11']);
});

test('a tick queued before its topic was forgotten (unsubscribed) does not follow the unsubscribed event when conflation starts', (t) => {
  const { s, socket } = session({ maxQueuedEvents: 3 });
  socket.bufferedAmount = HIGH_WATER + 1;
  offer(s, 'tick.V.A', 1, 1);
  s.forget('tick.V.A');
  s.sendControl('{"type":"unsubscribed","topics":["tick.V.A"]}');
  for (let seq = 1; seq <= 5; seq++) offer(s, 'tick.V.B', 1, seq);
  t.true(s.conflating);
  socket.bufferedAmount = 0;
  s.flush();
  t.deepEqual(socket.events().map((e) => `${e.type}:${e.topic ?? ''}:${e.seq ?? ''}`), ['unsubscribed::', 'tick:tick.V.B:5']);
});

test('control events are never conflated or dropped, and keep their order', (t) => {
  const { s, socket } = session({ maxQueuedEvents: 5 });
  socket.bufferedAmount = HIGH_WATER + 1;
  for (let i = 1; i <= 300; i++) {
    s.sendControl(control(i));
    offer(s, 'tick.V.A', 1, i);
  }
  t.true(s.conflating);
  t.is(s.pending, 301);
  socket.bufferedAmount = 0;
  s.flush();
  const events = socket.events();
  t.deepEqual(events.filter((e) => e.type === 'pong').map((e) => e.n), Array.from({ length: 300 }, (_, i) => i + 1));
  t.deepEqual(events.filter((e) => e.type === 'tick').map((e) => e.seq), [300]);
});

test('closeIfSlow: only a client behind with conflate:false is closed with 4008 (once); one keeping up or conflating is left alone', (t) => {
  const { s, socket, slowCloses } = session({ maxQueuedEvents: 1000 });
  offer(s, 'tick.V.A', 1, 1);
  socket.bufferedAmount = HIGH_WATER + 1;
  t.false(s.closeIfSlow(), 'behind, but conflating: not a slow consumer');
  s.conflate = false;
  socket.bufferedAmount = HIGH_WATER;
  t.false(s.closeIfSlow(), 'conflate:false, but not behind');
  t.is(socket.closed, undefined);
  socket.bufferedAmount = HIGH_WATER + 1;
  t.true(s.closeIfSlow());
  t.deepEqual(socket.closed, { code: CloseCode.SLOW_CONSUMER, reason: 'slow consumer' });
  t.is(s.pending, 0, 'its queue is released');
  t.false(s.closeIfSlow(), 'already closing');
  t.is(slowCloses(), 1);
});

test('conflate:false: a client behind past maxQueuedEvents is closed with 4008, once, and sent nothing more', (t) => {
  const { s, socket, slowCloses } = session({ maxQueuedEvents: 10 });
  s.conflate = false;
  s.sendControl(control(1));
  s.flush();
  socket.bufferedAmount = HIGH_WATER + 1;
  for (let seq = 1; seq <= 10; seq++) offer(s, 'tick.V.A', 1, seq);
  t.is(socket.closed, undefined, 'at the limit: not yet');
  offer(s, 'tick.V.A', 1, 11);
  t.deepEqual(socket.closed, { code: CloseCode.SLOW_CONSUMER, reason: 'slow consumer' });
  t.is(CloseCode.SLOW_CONSUMER, 4008);
  t.is(slowCloses(), 1);
  for (let seq = 12; seq <= 100; seq++) t.false(offer(s, 'tick.V.A', 1, seq), 'nothing is queued for a closing client');
  t.is(slowCloses(), 1, 'counted once');
  t.is(s.pending, 0, 'its queue is released');
  socket.bufferedAmount = 0;
  s.flush();
  t.is(socket.frames.length, 1, 'no frame after the close');
});

test('conflate:false while keeping up: every tick is delivered, never closed', (t) => {
  const { s, socket } = session({ maxQueuedEvents: 2 });
  s.conflate = false;
  for (let seq = 1; seq <= 50; seq++) offer(s, 'tick.V.A', 1, seq);
  s.flush();
  t.is(socket.closed, undefined);
  t.is(socket.events().length, 50);
});

type Position = { epoch: number; seq: number };

/**
 * The source's next (epoch, seq) of `topic`, recorded in `newest`. The cache passes each tick
 * on once and only when newer than what it held (seq jumps where upstream conflated); a
 * restarted source has a new epoch (never an earlier one again: the cache drops those by ts).
 */
function advance(newest: Map<string, Position>, topic: string, step: { jump: number; restart: boolean }): Position {
  const held = newest.get(topic);
  const at = held === undefined || step.restart ? { epoch: (held?.epoch ?? 0) + 1, seq: 1 } : { epoch: held.epoch, seq: held.seq + step.jump };
  newest.set(topic, at);
  return at;
}

/** What a drained client must have been sent: per topic no duplicate or older seq, ending at the newest; every control event once, in order. */
function checkDelivered(socket: FakeSocket, newest: ReadonlyMap<string, Position>, controls: number): void {
  const seen = new Map<string, Position>();
    for (const e of socket.events()) {
      if (e.type === 'pong') continue;
      const last = seen.get(e.topic!);
      if (last && last.epoch === e.epoch && e.seq! <= last.seq) throw new Error(`${e.topic}: seq ${e.seq} after ${last.seq}`);
      seen.set(e.topic!, { epoch: e.epoch!, seq: e.seq! });
    }
    const pongs = socket.events().filter((e) => e.type === 'pong').map((e) => e.n);
    if (pongs.join() !== Array.from({ length: controls }, (_, i) => i + 1).join()) throw new Error(`control events lost or reordered: ${pongs.join()}`);
    for (const [topic, at] of newest) {
      const got = seen.get(topic);
      if (got?.epoch !== at.epoch || got.seq !== at.seq) throw new Error(`${topic}: ended at ${JSON.stringify(got)}, newest ${JSON.stringify(at)}`);
    }
}

test('property: whatever newer ticks the cache offers and the socket does, per topic no duplicate or older seq is sent, pending stays bounded once conflating, and a drained client ends with the newest of every topic', (t) => {
  const topics = ['tick.V.A', 'tick.V.B', 'tick.V.C', 'tick.V.D'];
  const step = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('offer' as const), topic: fc.integer({ min: 0, max: 3 }), jump: fc.integer({ min: 1, max: 3 }), restart: fc.integer({ min: 0, max: 9 }).map((n) => n === 0), snapshot: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('control' as const) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('socket' as const), full: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('flush' as const) }) },
  );
  t.notThrows(() => fc.assert(fc.property(fc.array(step, { maxLength: 200 }), fc.integer({ min: 1, max: 8 }), (steps, maxQueued) => {
    const { s, socket } = session({ maxQueuedEvents: maxQueued });
    const newest = new Map<string, Position>();
    let controls = 0;
    for (const st of steps) {
      if (st.kind === 'offer') {
        const topic = topics[st.topic]!;
        const at = advance(newest, topic, st);
        offer(s, topic, at.epoch, at.seq, st.snapshot ? 'snapshot' : 'tick');
      } else if (st.kind === 'control') {
        s.sendControl(control(++controls));
      } else if (st.kind === 'socket') {
        socket.bufferedAmount = st.full ? HIGH_WATER + 1 : 0;
      } else {
        s.flush();
      }
      if (s.conflating && s.pending > topics.length + controls) throw new Error(`pending ${s.pending} while conflating`);
    }
    socket.bufferedAmount = 0;
    s.flush();
    checkDelivered(socket, newest, controls);
  }), { numRuns: 500 }));
});

/**
 * A session fed as the gateway feeds it: every live tick applied to a real EventCache and
 * offered with offerLive, the cache as its ConflationSource over `topics`.
 */
function cachedSession(topics: readonly string[], limits: { maxQueuedEvents: number; conflationHoldMs?: number }) {
  const cache = new EventCache(10);
  const socket = new FakeSocket();
  let changedCalls = 0;
  const s = new Session('test', socket as unknown as WebSocket, { bufferedHighWater: HIGH_WATER, conflationHoldMs: 0, ...limits }, () => {}, {
    clock: () => cache.clock,
    *changedSince(since) {
      changedCalls++;
      for (const topic of topics) {
        const changed = cache.changedSince(topic, since);
        if (changed !== undefined) yield changed;
      }
    },
    bookSince: (topic, from) => cache.bookSince(topic, from),
  });
  /** Applies a tick to the cache and offers it live; returns whether the session queued it. */
  const live = (topic: string, epoch: number, seq: number): boolean => {
    const event = cache.apply({ topic, epoch, seq, ts: epoch * 1e9 + seq, payload: Buffer.from(`{"venue":"V","symbol":"S","bid":${seq}}`) });
    return event !== undefined && s.offerLive(topic, epoch, seq, event);
  };
  return { s, socket, cache, live, changedCalls: () => changedCalls };
}

test('a conflating client is offered no live ticks; its next frame takes the newest tick of each topic that changed, from the cache', (t) => {
  const topics = ['tick.V.A', 'tick.V.B', 'tick.V.C'];
  const { s, socket, live, changedCalls } = cachedSession(topics, { maxQueuedEvents: 5 });
  socket.bufferedAmount = HIGH_WATER + 1;
  for (let seq = 1; seq <= 6; seq++) t.true(live('tick.V.A', 1, seq), 'queued while not yet conflating');
  t.true(s.conflating);
  const pendingThen = s.pending;
  let queued = 0;
  for (let seq = 1; seq <= 1000; seq++) for (const topic of ['tick.V.B', 'tick.V.C']) if (live(topic, 1, seq)) queued++;
  t.is(queued, 0, 'no live tick queued while conflating');
  t.is(s.pending, pendingThen, 'nothing held per tick');
  t.is(changedCalls(), 0, 'and the cache not read per tick either');

  socket.bufferedAmount = 0;
  s.flush();
  t.is(changedCalls(), 1, 'read once, for the frame');
  t.deepEqual(socket.events().map((e) => `${e.topic}:${e.seq}`).sort(), ['tick.V.A:6', 'tick.V.B:1000', 'tick.V.C:1000']);
  t.is(s.counters.conflated, 5 + 2 * 999, 'every tick that a newer one replaced');
  t.false(s.conflating, 'drained: back to queueing');
  t.true(live('tick.V.A', 1, 7));
  s.flush();
  t.deepEqual(socket.events().slice(-1).map((e) => e.seq), [7]);
});

test('a client still behind after a conflated frame conflates on: the next frame has only what changed since that frame', (t) => {
  const { s, socket, live } = cachedSession(['tick.V.A', 'tick.V.B'], { maxQueuedEvents: 1 });
  socket.bufferedAmount = HIGH_WATER + 1;
  live('tick.V.A', 1, 1);
  live('tick.V.B', 1, 1);
  t.true(s.conflating);
  socket.bufferedAmount = 0;
  socket.growPerFrame = HIGH_WATER + 1;
  s.flush();
  t.true(s.conflating, 'still behind after its frame');
  for (let seq = 2; seq <= 50; seq++) live('tick.V.B', 1, seq);
  s.flush();
  t.is(socket.frames.length, 1, 'nothing sent while behind');
  socket.bufferedAmount = 0;
  s.flush();
  t.deepEqual(JSON.parse(socket.frames[1]!).map((e: SentEvent) => `${e.topic}:${e.seq}`), ['tick.V.B:50']);
  socket.bufferedAmount = 0;
  socket.growPerFrame = 0;
  s.flush();
  t.is(socket.frames.length, 2, 'nothing changed since: no frame');
  t.false(s.conflating);
});

test('a conflating client found behind within conflationHoldMs conflates on after a frame that found it keeping up: no ticks are queued again', (t) => {
  const { s, socket, live } = cachedSession(['tick.V.A'], { maxQueuedEvents: 1, conflationHoldMs: 60_000 });
  socket.bufferedAmount = HIGH_WATER + 1;
  live('tick.V.A', 1, 1);
  live('tick.V.A', 1, 2);
  t.true(s.conflating);
  socket.bufferedAmount = 0;
  s.flush();
  t.deepEqual(socket.events().map((e) => e.seq), [2]);
  t.true(s.conflating, 'kept up once, but was behind a moment ago');
  t.false(live('tick.V.A', 1, 3), 'so the next tick waits in the cache');
  s.flush();
  t.deepEqual(socket.events().map((e) => e.seq), [2, 3]);
});

test('a client that conflated before conflates again as soon as it is behind, without queueing maxQueuedEvents ticks first', (t) => {
  const { s, socket, live } = cachedSession(['tick.V.A'], { maxQueuedEvents: 100 });
  socket.bufferedAmount = HIGH_WATER + 1;
  for (let seq = 1; seq <= 101; seq++) live('tick.V.A', 1, seq);
  t.true(s.conflating, 'the first time past maxQueuedEvents');
  socket.bufferedAmount = 0;
  s.flush();
  t.false(s.conflating);
  live('tick.V.A', 1, 102);
  socket.bufferedAmount = HIGH_WATER + 1;
  live('tick.V.A', 1, 103);
  t.true(s.conflating, 'the second time at once');
  t.is(s.pending, 1);
});

test('a client that conflated before and then asked for conflate:false is closed with 4008 only past maxQueuedEvents, as any conflate:false client', (t) => {
  const { s, socket, live } = cachedSession(['tick.V.A'], { maxQueuedEvents: 5 });
  socket.bufferedAmount = HIGH_WATER + 1;
  for (let seq = 1; seq <= 6; seq++) live('tick.V.A', 1, seq);
  t.true(s.conflating);
  socket.bufferedAmount = 0;
  s.flush();
  t.false(s.conflating);
  s.conflate = false;
  socket.bufferedAmount = HIGH_WATER + 1;
  for (let seq = 7; seq <= 11; seq++) live('tick.V.A', 1, seq);
  t.is(socket.closed, undefined, 'five queued: not yet');
  live('tick.V.A', 1, 12);
  t.is(socket.closed?.code, CloseCode.SLOW_CONSUMER);
});

test('while conflating, a topic held for a REPLAY is not taken from the cache until the replay ends; then its newest goes', (t) => {
  const { s, socket, live } = cachedSession(['tick.V.A', 'tick.V.B'], { maxQueuedEvents: 1 });
  live('tick.V.A', 1, 1);
  s.flush();
  const hold = s.holdForReplay('tick.V.A', 1, 1);
  socket.bufferedAmount = HIGH_WATER + 1;
  live('tick.V.B', 1, 1);
  live('tick.V.B', 1, 2);
  t.true(s.conflating);
  for (let seq = 2; seq <= 9; seq++) live('tick.V.A', 1, seq);
  socket.bufferedAmount = 0;
  socket.growPerFrame = HIGH_WATER + 1;
  s.flush();
  t.deepEqual(JSON.parse(socket.frames[1]!).map((e: SentEvent) => `${e.topic}:${e.seq}`), ['tick.V.B:2'], 'A held back');
  const replayed = [2, 3].map((seq) => ({ epoch: 1, seq, event: outbound(tick('tick.V.A', 1, seq), 'tick.V.A') }));
  s.endReplay(hold, { epoch: 1, seq: 1 }, replayed);
  for (let seq = 10; seq <= 12; seq++) live('tick.V.A', 1, seq);
  socket.bufferedAmount = 0;
  socket.growPerFrame = 0;
  s.flush();
  t.deepEqual(JSON.parse(socket.frames[2]!).map((e: SentEvent) => `${e.topic}:${e.seq}`), ['tick.V.A:12']);
});

test('property: fed live through the cache, whatever the socket does, per topic no duplicate or older seq is sent, and a drained client ends with the newest of every topic', (t) => {
  const topics = ['tick.V.A', 'tick.V.B', 'tick.V.C', 'tick.V.D'];
  const step = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('tick' as const), topic: fc.integer({ min: 0, max: 3 }), jump: fc.integer({ min: 1, max: 3 }), restart: fc.integer({ min: 0, max: 9 }).map((n) => n === 0) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('control' as const) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('socket' as const), full: fc.boolean(), grow: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('flush' as const) }) },
  );
  t.notThrows(() => fc.assert(fc.property(fc.array(step, { maxLength: 200 }), fc.integer({ min: 1, max: 8 }), (steps, maxQueued) => {
    const { s, socket, live } = cachedSession(topics, { maxQueuedEvents: maxQueued });
    const newest = new Map<string, Position>();
    let controls = 0;
    for (const st of steps) {
      if (st.kind === 'tick') {
        const topic = topics[st.topic]!;
        const at = advance(newest, topic, st);
        live(topic, at.epoch, at.seq);
      } else if (st.kind === 'control') {
        s.sendControl(control(++controls));
      } else if (st.kind === 'socket') {
        socket.bufferedAmount = st.full ? HIGH_WATER + 1 : 0;
        socket.growPerFrame = st.grow ? HIGH_WATER + 1 : 0;
      } else {
        s.flush();
      }
      if (s.conflating && s.pending > topics.length + controls) throw new Error(`pending ${s.pending} while conflating`);
    }
    socket.bufferedAmount = 0;
    socket.growPerFrame = 0;
    s.flush();
    checkDelivered(socket, newest, controls);
  }), { numRuns: 500 }));
});
