import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { Dealer, Request } from 'zeromq';
import { createLogger } from '../../src/log/index.js';
import { SnapshotService, type ServiceOptions } from '../../src/snapshot/service.js';
import { SnapshotStore } from '../../src/snapshot/store.js';
import { FLAG_SNAPSHOT, decodeMessage, type DecodedMessage } from '../../src/wire/index.js';
import { message, roomyLimits, run } from './_helpers.js';

const log = createLogger('silent');

const BTC = 'tick.SIM.BTC-USD';
const EPOCH = 0xdeadbeef;

// ---------------------------------------------------------------- fixtures

async function startService(store: SnapshotStore, options: Partial<ServiceOptions> = {}): Promise<{ service: SnapshotService; endpoint: string }> {
  const service = new SnapshotService(store, {
    endpoint: 'tcp://127.0.0.1:*', maxRecords: 100_000, replyQueueLimit: 1000, sendHwm: 1000, lingerMs: 0, ...options,
  }, log);
  const endpoint = await service.start();
  return { service, endpoint };
}

type Kind = 'REQ' | 'DEALER';
const KINDS: readonly Kind[] = ['REQ', 'DEALER'];
type Frame = string | Buffer;

/**
 * A client socket that asks one request at a time, as PROTOCOL.md section 4 describes: a REQ as is,
 * a DEALER adding the empty delimiter itself (and checking the reply carries it). A reply that does
 * not come within 10 s rejects, so a service that fails to answer fails the test instead of hanging it.
 */
class Client {
  private readonly socket: Request | Dealer;

  constructor(readonly kind: Kind, endpoint: string) {
    const options = { receiveTimeout: 10_000, sendTimeout: 10_000, linger: 0 };
    this.socket = kind === 'REQ' ? new Request(options) : new Dealer(options);
    this.socket.connect(endpoint);
  }

  async ask(...body: Frame[]): Promise<Buffer[]> {
    if (this.kind === 'REQ') {
      await this.socket.send(body);
      return this.socket.receive();
    }
    await this.socket.send(['', ...body]);
    const [delimiter, ...reply] = await this.socket.receive();
    if (delimiter?.length !== 0) throw new Error(`DEALER reply does not start with the empty delimiter: ${String(delimiter)}`);
    return reply;
  }

  /** Sends frames exactly as given (a DEALER only), e.g. without the delimiter. */
  async sendRaw(...frames: Frame[]): Promise<void> {
    await this.socket.send(frames);
  }

  async receiveRaw(): Promise<Buffer[]> {
    return this.socket.receive();
  }

  close(): void {
    this.socket.close();
  }
}

/** Opens a client for the test and closes it when the test ends, whatever happens. */
function client(t: ExecutionContext, kind: Kind, endpoint: string): Client {
  const c = new Client(kind, endpoint);
  t.teardown(() => c.close());
  return c;
}

const text = (frames: readonly Buffer[]): string[] => frames.map((f) => f.toString());

function assertPong(t: ExecutionContext, reply: Buffer[], after: string): void {
  t.deepEqual(text(reply), ['PONG'], `PING answered after ${after}`);
}

/** Asserts an `ERR code text` reply with a non-empty printable text (mentioning `mentions` when given). */
function assertError(t: ExecutionContext, reply: Buffer[], code: string, mentions?: string): string {
  t.is(reply.length, 3, `ERR reply frames: ${JSON.stringify(text(reply))}`);
  t.is(reply[0]?.toString(), 'ERR');
  t.is(reply[1]?.toString(), code);
  const explanation = reply[2]?.toString() ?? '';
  t.regex(explanation, /^[\x20-\x7e]+$/, 'a short printable explanation');
  if (mentions !== undefined) t.true(explanation.includes(mentions), `${JSON.stringify(explanation)} mentions ${JSON.stringify(mentions)}`);
  return explanation;
}

/**
 * Asserts an `OK count records...` reply, each record being the ingested message with header flag
 * bit 0 set and every other byte identical; returns the decoded records.
 */
function assertRecords(t: ExecutionContext, reply: Buffer[], expected: readonly DecodedMessage[]): DecodedMessage[] {
  t.is(reply[0]?.toString(), 'OK');
  t.is(reply[1]?.toString(), String(expected.length), 'count');
  t.is(reply.length, 2 + 3 * expected.length, 'frames: OK, count, then 3 per record');
  const decoded: DecodedMessage[] = [];
  expected.forEach((ingested, i) => {
    const [topic, header, payload] = reply.slice(2 + 3 * i, 5 + 3 * i) as [Buffer, Buffer, Buffer];
    const [ingestedTopic, ingestedHeader, ingestedPayload] = ingested.frames;
    t.true(topic.equals(ingestedTopic), `record ${i} topic ${topic.toString()} is ${ingested.topic}`);
    t.is(header[1]! & FLAG_SNAPSHOT, FLAG_SNAPSHOT, `record ${i} header has flag bit 0 set`);
    const unflagged = Buffer.from(header);
    unflagged[1] = ingestedHeader[1]!;
    t.true(unflagged.equals(ingestedHeader), `record ${i} header is otherwise identical`);
    t.true(payload.equals(ingestedPayload), `record ${i} payload is byte-identical`);
    decoded.push(decodeMessage([topic, header, payload]));
  });
  return decoded;
}

// ---------------------------------------------------------------- the shared service

/** Ingested in this (unsorted) order; BTC retains seq 3..12 of 12 (historyPerTopic 10). */
const held = {
  btc: run(BTC, EPOCH, 1, 12),
  msft: [message('tick.XNAS.MSFT', 9, 4)],
  status: run('status.SIM', 77, 1, 2),
  eth: run('tick.SIM.ETH-USD', 5, 1, 3),
  aapl: [message('tick.XNAS.AAPL', 9, 1)],
};
const newest = (messages: DecodedMessage[]): DecodedMessage => messages.at(-1)!;
/** The state of every topic, sorted by topic. */
const states = [newest(held.status), newest(held.btc), newest(held.eth), newest(held.aapl), newest(held.msft)];
const MAX_RECORDS = 4; // one fewer than the topics held

let shared: { service: SnapshotService; endpoint: string };

test.before(async () => {
  const store = new SnapshotStore({ ...roomyLimits, historyPerTopic: 10 });
  for (const m of Object.values(held).flat()) store.ingest(m);
  shared = await startService(store, { maxRecords: MAX_RECORDS });
});

test.after.always(async () => {
  await shared?.service.close();
});

test('start() resolves with the endpoint actually bound, not the wildcard', (t) => {
  t.regex(shared.endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
});

for (const kind of KINDS) {
  test(`${kind}: PING is answered PONG`, async (t) => {
    t.deepEqual(text(await client(t, kind, shared.endpoint).ask('PING')), ['PONG']);
  });

  const snapshots: [prefix: string, expected: DecodedMessage[]][] = [
    ['tick.', states.filter((m) => m.topic.startsWith('tick.'))],
    ['tick.SIM.', [newest(held.btc), newest(held.eth)]],
    ['tick.XNAS.', [newest(held.aapl), newest(held.msft)]],
    ['status.', [newest(held.status)]],
    [BTC, [newest(held.btc)]],
    ['tick.NOPE.', []],
  ];
  for (const [prefix, expected] of snapshots) {
    test(`${kind}: SNAPSHOT ${JSON.stringify(prefix)} answers OK, the count, then the state of each matching topic sorted by topic, flagged`, async (t) => {
      const reply = await client(t, kind, shared.endpoint).ask('SNAPSHOT', prefix);
      const records = assertRecords(t, reply, expected);
      t.deepEqual(records.map((r) => r.topic), expected.map((m) => m.topic));
      t.true(records.every((r) => r.header.flags === FLAG_SNAPSHOT));
    });
  }

  test(`${kind}: SNAPSHOT of more topics than maxRecords answers ERR TOO_LARGE; exactly maxRecords is OK`, async (t) => {
    const c = client(t, kind, shared.endpoint);
    assertError(t, await c.ask('SNAPSHOT', ''), 'TOO_LARGE', `5 topics match "", at most ${MAX_RECORDS}`);
    assertRecords(t, await c.ask('SNAPSHOT', 'tick.'), states.slice(1));
  });

  type ReplayExpected = { readonly records: DecodedMessage[] } | { readonly error: 'GONE' | 'UNAVAILABLE'; readonly mentions: string };
  const replays: [what: string, request: [topic: string, epoch: string, fromSeq: string], expected: ReplayExpected][] = [
    ['from inside the history: the rest of it in seq order', [BTC, String(EPOCH), '9'], { records: held.btc.slice(8) }],
    ['from the oldest retained seq: all of it', [BTC, String(EPOCH), '3'], { records: held.btc.slice(2) }],
    ['from the newest seq + 1: OK 0', [BTC, String(EPOCH), '13'], { records: [] }],
    ['beyond the newest seq + 1: UNAVAILABLE (the service has not caught up with the client)', [BTC, String(EPOCH), '14'], { error: 'UNAVAILABLE', mentions: 'fromSeq 14 is beyond the newest seq 12' }],
    ['older than the retained history: GONE', [BTC, String(EPOCH), '2'], { error: 'GONE', mentions: 'older than the retained history' }],
    ['of an epoch that is not the current one: GONE', [BTC, String(EPOCH - 1), '9'], { error: 'GONE', mentions: `is not the current epoch ${EPOCH}` }],
    ['of an unknown topic: GONE', ['tick.SIM.NOPE', '1', '1'], { error: 'GONE', mentions: 'unknown topic tick.SIM.NOPE' }],
  ];
  for (const [what, request, expected] of replays) {
    test(`${kind}: REPLAY ${what}`, async (t) => {
      const reply = await client(t, kind, shared.endpoint).ask('REPLAY', ...request);
      if ('error' in expected) {
        assertError(t, reply, expected.error, expected.mentions);
      } else {
        const records = assertRecords(t, reply, expected.records);
        t.deepEqual(records.map((r) => r.header.seq), expected.records.map((m) => m.header.seq));
      }
    });
  }

  const malformed: [what: string, body: Frame[], mentions: string][] = [
    ['PING with an extra frame', ['PING', 'x'], 'PING takes 1'],
    ['SNAPSHOT without its prefix', ['SNAPSHOT'], 'SNAPSHOT takes 2 frames, got 1'],
    ['SNAPSHOT with an extra frame', ['SNAPSHOT', 'tick.', 'x'], 'SNAPSHOT takes 2 frames, got 3'],
    ['REPLAY without fromSeq', ['REPLAY', BTC, '1'], 'REPLAY takes 4 frames, got 3'],
    ['REPLAY with an extra frame', ['REPLAY', BTC, '1', '1', '1'], 'REPLAY takes 4 frames, got 5'],
    ['a non-numeric fromSeq', ['REPLAY', BTC, String(EPOCH), 'ten'], 'fromSeq "ten" is not an ASCII decimal'],
    ['a negative fromSeq', ['REPLAY', BTC, String(EPOCH), '-1'], 'fromSeq "-1"'],
    ['a non-numeric epoch', ['REPLAY', BTC, 'x', '1'], 'epoch "x"'],
    ['a huge epoch', ['REPLAY', BTC, '4294967296', '1'], 'epoch "4294967296"'],
    ['an unknown command', ['HELLO'], 'unknown command "HELLO"'],
    ['an empty frame as the request', [''], 'unknown command ""'],
    ['an empty topic', ['REPLAY', '', '1', '1'], 'topic is empty'],
    ['an empty fromSeq', ['REPLAY', BTC, '1', ''], 'fromSeq ""'],
    ['an invalid topic', ['REPLAY', 'tick..BTC', '1', '1'], 'empty segment'],
    ['a non-ASCII prefix', ['SNAPSHOT', 'tick.€'], 'prefix is not printable ASCII'],
    ['a 1 MB frame', ['SNAPSHOT', Buffer.alloc(1024 * 1024, 'a')], 'frame 1 is 1048576 bytes'],
  ];
  for (const [what, body, mentions] of malformed) {
    test(`${kind}: ${what} is answered ERR BAD_REQUEST with a text, and the service answers on`, async (t) => {
      const c = client(t, kind, shared.endpoint);
      assertError(t, await c.ask(...body), 'BAD_REQUEST', mentions);
      assertPong(t, await c.ask('PING'), what);
    });
  }
}

const withoutDelimiter: [what: string, body: string[]][] = [
  ['PING', ['PING']],
  ['SNAPSHOT of a prefix', ['SNAPSHOT', 'tick.']],
  ['SNAPSHOT of everything (its empty prefix looks like a delimiter)', ['SNAPSHOT', '']],
  ['REPLAY with an empty field', ['REPLAY', BTC, '', '1']],
];

for (const [what, body] of withoutDelimiter) {
  test(`DEALER without the empty delimiter, ${what}: ERR BAD_REQUEST in the REQ shape, and the service answers on`, async (t) => {
    const dealer = client(t, 'DEALER', shared.endpoint);
    await dealer.sendRaw(...body);
    const [delimiter, ...reply] = await dealer.receiveRaw();
    t.is(delimiter?.length, 0, 'the reply carries the delimiter the request lacked');
    assertError(t, reply, 'BAD_REQUEST', 'missing the empty delimiter');
    assertPong(t, await dealer.ask('PING'), 'a request without delimiter');
  });
}

test('DEALER: pipelined requests get one reply each, in order', async (t) => {
  const dealer = client(t, 'DEALER', shared.endpoint);
  const requests: string[][] = [['PING'], ['SNAPSHOT', 'status.'], ['HELLO'], ['REPLAY', BTC, String(EPOCH), '13'], ['PING']];
  for (const body of requests) await dealer.sendRaw('', ...body);
  const replies: string[][] = [];
  for (let i = 0; i < requests.length; i++) replies.push(text(await dealer.receiveRaw()).slice(1));
  t.deepEqual(replies.map((r) => r.slice(0, 2)), [['PONG'], ['OK', '1'], ['ERR', 'BAD_REQUEST'], ['OK', '0'], ['PONG']]);
});

/** Whether a reply has one of the shapes of PROTOCOL.md section 4; a string saying why not otherwise. */
function documentedShape(reply: readonly Buffer[]): true | string {
  const [status, second, third] = reply.map((f) => f.toString());
  if (status === 'PONG') return reply.length === 1 || `PONG with ${reply.length} frames`;
  if (status === 'ERR') {
    if (!['BAD_REQUEST', 'GONE', 'TOO_LARGE', 'UNAVAILABLE'].includes(second ?? '')) return `unknown error code ${second}`;
    return (reply.length === 3 && /^[\x20-\x7e]+$/.test(third ?? '')) || 'ERR without a printable text';
  }
  if (status !== 'OK' || !/^(0|[1-9][0-9]*)$/.test(second ?? '')) return `status ${status}, count ${second}`;
  const count = Number(second);
  if (reply.length !== 2 + 3 * count) return `OK ${count} with ${reply.length} frames`;
  for (let i = 2; i < reply.length; i += 3) {
    if ((decodeMessage(reply.slice(i, i + 3)).header.flags & FLAG_SNAPSHOT) === 0) return `record ${(i - 2) / 3} not flagged`;
  }
  return true;
}

test('property: any request gets exactly one reply of a documented shape, and the service answers on', async (t) => {
  const dealer = client(t, 'DEALER', shared.endpoint);
  const frameArb = fc.oneof(
    fc.constantFrom('PING', 'SNAPSHOT', 'REPLAY', '', BTC, 'tick.', String(EPOCH), '1', '12', '13', '-1', 'x'),
    fc.string({ maxLength: 12 }),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  );
  await t.notThrowsAsync(fc.assert(fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 5 }), async (body) => {
    const shape = documentedShape(await dealer.ask(...body));
    if (shape !== true) throw new Error(shape);
    const pong = await dealer.ask('PING');
    if (pong.length !== 1 || pong[0]!.toString() !== 'PONG') throw new Error(`PING answered ${JSON.stringify(text(pong))}`);
  }), { numRuns: 300 }));
});

// ---------------------------------------------------------------- dedicated services

test('a SNAPSHOT of 10,000 topics is answered whole while another client\'s PING is answered too', async (t) => {
  const store = new SnapshotStore(roomyLimits);
  const topics = Array.from({ length: 10_000 }, (_, i) => `tick.SIM.S${String(9_999 - i).padStart(5, '0')}`);
  const ingested = topics.map((topic, i) => message(topic, 1, 1 + (i % 7)));
  for (const m of ingested) store.ingest(m);
  const { service, endpoint } = await startService(store);
  t.teardown(() => service.close());
  const big = client(t, 'DEALER', endpoint);
  const pinger = client(t, 'REQ', endpoint);

  const [snapshot, pong] = await Promise.all([big.ask('SNAPSHOT', ''), pinger.ask('PING')]);

  t.deepEqual(text(pong), ['PONG']);
  const sorted = [...ingested].sort((a, b) => (a.topic < b.topic ? -1 : 1));
  const records = assertRecords(t, snapshot, sorted);
  t.is(records.length, 10_000);
  t.is(service.recordsServed, 10_000);
});

test('DEALER: requests pipelined around a SNAPSHOT built in slices still get their replies in order', async (t) => {
  const store = new SnapshotStore(roomyLimits);
  const ingested = Array.from({ length: 2_500 }, (_, i) => message(`tick.SIM.P${String(i).padStart(4, '0')}`, 1, 1));
  for (const m of ingested) store.ingest(m);
  const { service, endpoint } = await startService(store);
  t.teardown(() => service.close());
  const dealer = client(t, 'DEALER', endpoint);
  const requests: string[][] = [['PING'], ['SNAPSHOT', 'tick.'], ['HELLO'], ['SNAPSHOT', 'tick.SIM.P000'], ['PING']];
  for (const body of requests) await dealer.sendRaw('', ...body);
  const replies: Buffer[][] = [];
  for (let i = 0; i < requests.length; i++) replies.push((await dealer.receiveRaw()).slice(1));
  t.deepEqual(replies.map((r) => text(r.slice(0, 2))), [['PONG'], ['OK', '2500'], ['ERR', 'BAD_REQUEST'], ['OK', '10'], ['PONG']]);
  assertRecords(t, replies[1]!, ingested);
});

test('the request counters (by "COMMAND result") and recordsServed add up to what the clients saw', async (t) => {
  const store = new SnapshotStore({ ...roomyLimits, historyPerTopic: 5 });
  for (const m of [...run(BTC, 1, 1, 8), message('tick.SIM.ETH-USD', 1, 1), message('status.SIM', 1, 1)]) store.ingest(m);
  const { service, endpoint } = await startService(store, { maxRecords: 2 });
  t.teardown(() => service.close());
  const req = client(t, 'REQ', endpoint);
  const dealer = client(t, 'DEALER', endpoint);

  const requests: [Client, Frame[]][] = [
    [req, ['PING']],
    [dealer, ['PING']],
    [req, ['SNAPSHOT', 'tick.']], // OK 2
    [dealer, ['SNAPSHOT', 'nothing.']], // OK 0
    [req, ['SNAPSHOT', '']], // TOO_LARGE (3 topics)
    [dealer, ['REPLAY', BTC, '1', '6']], // OK 3
    [req, ['REPLAY', BTC, '1', '9']], // OK 0
    [dealer, ['REPLAY', BTC, '1', '2']], // GONE (retains 4..8)
    [req, ['REPLAY', BTC, '2', '1']], // GONE (epoch)
    [dealer, ['REPLAY', BTC, '1', '10']], // UNAVAILABLE (beyond newest + 1)
    [req, ['REPLAY', BTC, '1']], // BAD_REQUEST (frames)
    [dealer, ['NOPE']], // BAD_REQUEST (command)
  ];
  let served = 0;
  for (const [c, body] of requests) {
    const reply = await c.ask(...body);
    if (reply[0]?.toString() === 'OK') served += Number(reply[1]?.toString());
  }
  await dealer.sendRaw('PING'); // no delimiter: BAD_REQUEST too
  await dealer.receiveRaw();

  t.deepEqual(Object.fromEntries(service.requests), {
    'PING ok': 2,
    'SNAPSHOT ok': 2,
    'SNAPSHOT too_large': 1,
    'REPLAY ok': 2,
    'REPLAY gone': 2,
    'REPLAY unavailable': 1,
    '? bad_request': 3,
  });
  t.is([...service.requests.values()].reduce((a, b) => a + b, 0), requests.length + 1, 'every request counted once');
  t.is(served, 5);
  t.is(service.recordsServed, served);
  t.is(service.repliesDropped, 0);
});

test('close() stops the service: the endpoint is released and close() resolves', async (t) => {
  const { service, endpoint } = await startService(new SnapshotStore(roomyLimits));
  t.deepEqual(text(await client(t, 'REQ', endpoint).ask('PING')), ['PONG']);
  await service.close();
  // Binding the same endpoint again succeeds only once the first service let go of it.
  const again = new SnapshotService(new SnapshotStore(roomyLimits), {
    endpoint, maxRecords: 1, replyQueueLimit: 1, sendHwm: 1, lingerMs: 0,
  }, log);
  t.is(await again.start(), endpoint);
  await again.close();
});

test('start() on an endpoint already bound rejects with an error naming the endpoint and the setting', async (t) => {
  const clash = new SnapshotService(new SnapshotStore(roomyLimits), {
    endpoint: shared.endpoint, maxRecords: 1, replyQueueLimit: 1, sendHwm: 1, lingerMs: 0,
  }, log);
  const err = await t.throwsAsync(clash.start());
  t.true(err?.message.includes(shared.endpoint) && err.message.includes('snapshot.endpoint'), err?.message);
});
