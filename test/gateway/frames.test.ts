import test from 'ava';
import type { WebSocket } from 'ws';
import { encodeFrame, FrameBuilder, outbound } from '../../src/gateway/frames.js';
import { Session } from '../../src/gateway/session.js';

/** A socket that keeps the Buffers it was given, to compare their identity. */
class KeepingSocket {
  readonly bufferedAmount = 0;
  readonly sent: Buffer[] = [];
  send(data: Buffer): void {
    this.sent.push(data);
  }
}

function session(): { s: Session; socket: KeepingSocket } {
  const socket = new KeepingSocket();
  return { s: new Session('x', socket as unknown as WebSocket, { bufferedHighWater: 1000, maxQueuedEvents: 100 }, () => {}), socket };
}

const tick = (topic: string, seq: number) => outbound(`{"type":"tick","topic":"${topic}","epoch":1,"seq":${seq}}`, topic);

test('encodeFrame: a JSON array of the event texts, in order', (t) => {
  const frame = encodeFrame([outbound('{"type":"pong","id":1}'), outbound('{"type":"pong","id":2}')]);
  t.deepEqual(JSON.parse(frame.toString()), [{ type: 'pong', id: 1 }, { type: 'pong', id: 2 }]);
  t.is(encodeFrame([outbound('{"a":"\u00e9"}')]).toString('utf8'), '[{"a":"\u00e9"}]', 'UTF-8 bytes');
});

test('clients with the same pending events in one flush pass are sent the very same bytes; others their own', (t) => {
  const events = [tick('tick.V.A', 1), tick('tick.V.B', 1), tick('tick.V.A', 2)];
  const same = [session(), session(), session()];
  const other = session();
  for (const { s } of same) for (const event of events) s.offer(event.topic!, 1, Number(event.text.match(/"seq":(\d+)/)![1]), event);
  other.s.offer('tick.V.A', 1, 1, events[0]!);
  other.s.offer('tick.V.A', 1, 2, events[2]!);
  const frames = new FrameBuilder();
  for (const { s } of [...same, other]) s.flush(frames);
  const first = same[0]!.socket.sent[0]!;
  t.true(same.every(({ socket }) => socket.sent.length === 1 && socket.sent[0] === first), 'one Buffer shared');
  t.not(other.socket.sent[0], first);
  t.deepEqual(JSON.parse(other.socket.sent[0]!.toString()).map((e: { seq: number }) => e.seq), [1, 2]);
  t.deepEqual(JSON.parse(first.toString()).map((e: { topic: string; seq: number }) => `${e.topic}:${e.seq}`), ['tick.V.A:1', 'tick.V.B:1', 'tick.V.A:2']);
});

test('a control event makes a client\'s frame its own', (t) => {
  const a = session();
  const b = session();
  const event = tick('tick.V.A', 1);
  for (const { s } of [a, b]) s.offer('tick.V.A', 1, 1, event);
  b.s.sendControl('{"type":"pong","id":7}');
  const frames = new FrameBuilder();
  a.s.flush(frames);
  b.s.flush(frames);
  t.not(a.socket.sent[0], b.socket.sent[0]);
  t.is(JSON.parse(b.socket.sent[0]!.toString()).length, 2);
});

test('frameOf: equal fingerprints of different events (a hash collision) still give each its own frame', (t) => {
  const frames = new FrameBuilder();
  const x = [tick('tick.V.A', 1)];
  const y = [tick('tick.V.B', 1)];
  const fx = frames.frameOf(x, 42);
  const fy = frames.frameOf(y, 42);
  t.regex(fx.toString(), /tick\.V\.A/);
  t.regex(fy.toString(), /tick\.V\.B/);
  t.is(frames.frameOf(x, 42), fx, 'the first of the key is still shared');
});

test('clients that subscribe alike share their whole first frame when their control events are one shared event', (t) => {
  const subscribed = outbound('{"type":"subscribed","id":1,"topics":["tick.*"]}');
  const snapshots = Array.from({ length: 50 }, (_, i) => outbound(`{"type":"snapshot","topic":"tick.V.S${i}","epoch":1,"seq":1}`, `tick.V.S${i}`));
  const clients = [session(), session()];
  for (const { s } of clients) {
    s.sendControl(subscribed);
    snapshots.forEach((event, i) => s.offer(`tick.V.S${i}`, 1, 1, event));
  }
  const frames = new FrameBuilder();
  for (const { s } of clients) s.flush(frames);
  t.is(clients[0]!.socket.sent.length, 1, 'subscribed and its snapshots in one frame');
  t.is(clients[0]!.socket.sent[0], clients[1]!.socket.sent[0], 'the same bytes');
  t.is(JSON.parse(clients[0]!.socket.sent[0]!.toString()).length, 51);
});
