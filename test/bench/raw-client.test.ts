import test from 'ava';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { setTimeout as sleep } from 'node:timers/promises';
import { RawWebSocket } from '../../bench/fanout/raw-client.js';

const WAIT_MS = 10_000;

/** What the client reported, and a way to wait until it reported something. */
class Received {
  readonly messages: string[] = [];
  /** Payloads of binary frames and their continuations. */
  readonly chunks: string[] = [];
  readonly closes: (number | undefined)[] = [];
  readonly errors: Error[] = [];
  private readonly waiters = new Set<() => void>();

  changed(): void {
    for (const check of this.waiters) check();
  }

  /** Resolves once `done()` holds (checked on every report), or fails after WAIT_MS. */
  until(done: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, WAIT_MS);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
      check();
    });
  }
}

/** A real ws server on an ephemeral loopback port, and a RawWebSocket connected to it. */
async function connect(t: { teardown(fn: () => void): void }, options: { refuse?: boolean; binary?: boolean } = {}) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, verifyClient: () => !options.refuse });
  t.teardown(() => server.close());
  await once(server, 'listening');
  const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
  const received = new Received();
  let open = false;
  const report = (record: () => void) => {
    record();
    received.changed();
  };
  const client = new RawWebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/v1/ws`, {
    message: (data, start, end) => report(() => received.messages.push(data.toString('utf8', start, end))),
    close: (code) => report(() => received.closes.push(code)),
    error: (err) => report(() => received.errors.push(err)),
    ...(options.binary ? { binary: (data: Buffer, start: number, end: number) => report(() => received.chunks.push(data.toString('latin1', start, end))) } : {}),
  }, () => report(() => (open = true)));
  t.teardown(() => client.terminate());
  return { server, accepted, client, received, opened: () => received.until(() => open, 'the upgrade') };
}

test('handshake, then a masked text message the ws server accepts', async (t) => {
  const { accepted, client, opened } = await connect(t);
  const peer = await accepted;
  await opened();
  client.send('{"op":"subscribe","topics":["tick.*"]}');
  const [data] = await once(peer, 'message');
  t.is(String(data), '{"op":"subscribe","topics":["tick.*"]}');
});

test('messages arrive whole and in order, from a few bytes to 3 MB spanning many socket reads', async (t) => {
  const { accepted, received } = await connect(t);
  const peer = await accepted;
  const sent = ['[]', 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(70_000), 'w'.repeat(3_000_000), ...Array.from({ length: 2_000 }, (_, i) => `[${i}]`)];
  for (const text of sent) peer.send(text);
  await received.until(() => received.messages.length === sent.length, 'every message');
  t.deepEqual(received.messages.map((m) => m.length), sent.map((m) => m.length));
  t.true(received.messages.every((m, i) => m === sent[i]));
  t.deepEqual(received.errors, []);
});

test('answers a ping with a pong carrying its payload', async (t) => {
  const { accepted } = await connect(t);
  const peer = await accepted;
  peer.ping(Buffer.from('are you there'));
  const [payload] = await once(peer, 'pong');
  t.is(String(payload), 'are you there');
});

test('reports the close code the server sent', async (t) => {
  const { accepted, received } = await connect(t);
  (await accepted).close(4008, 'slow consumer');
  await received.until(() => received.closes.length === 1, 'the close');
  t.deepEqual(received.closes, [4008]);
});

test('a paused client takes nothing more until resumed', async (t) => {
  const { accepted, client, received } = await connect(t);
  const peer = await accepted;
  peer.send('first');
  await received.until(() => received.messages.length === 1, 'the first message');
  client.pause();
  t.true(client.isPaused);
  await new Promise<void>((resolve) => peer.send('second', () => resolve()));
  await new Promise<void>((resolve) => peer.send('', () => resolve()));
  // That nothing arrives can only be shown over some time: loopback delivers in microseconds.
  await sleep(100);
  t.deepEqual(received.messages, ['first']);
  client.resume();
  await received.until(() => received.messages.length === 3, 'the rest');
  t.deepEqual(received.messages, ['first', 'second', '']);
});

test('a refused upgrade is an error naming the status line', async (t) => {
  const { received } = await connect(t, { refuse: true });
  await received.until(() => received.errors.length > 0 && received.closes.length > 0, 'the failure');
  t.regex(received.errors[0]!.message, /refused the upgrade: HTTP\/1\.1 401/);
});

test('binary frames and their continuations go to binary() as a stream, text messages still to message()', async (t) => {
  const { accepted, received } = await connect(t, { binary: true });
  const peer = await accepted;
  peer.send(Buffer.from('MSG a 1 5\r\nhel'), { binary: true, fin: false });
  peer.send(Buffer.from('lo\r\n'), { binary: true, fin: true });
  peer.send(Buffer.from('PING\r\n'), { binary: true });
  peer.send('text');
  await received.until(() => received.messages.length === 1, 'the text message');
  t.is(received.chunks.join(''), 'MSG a 1 5\r\nhello\r\nPING\r\n');
  t.deepEqual(received.messages, ['text']);
  t.deepEqual(received.errors, []);
});

test('without binary() a binary frame is an error naming it', async (t) => {
  const { accepted, received } = await connect(t);
  (await accepted).send(Buffer.from('x'), { binary: true });
  await received.until(() => received.errors.length > 0, 'the error');
  t.regex(received.errors[0]!.message, /a binary message, which the load client does not take/);
});
