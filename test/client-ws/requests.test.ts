import test from 'ava';
import { TickfanError } from '../../src/client/ws/errors.js';
import { RequestTable, type RequestTableOptions } from '../../src/client/ws/requests.js';
import type { ClientRequest, ErrorCode } from '../../src/wire/websocket.js';

/** The SDK's request table without a socket: the test plays the connection and the server. */

const OPTIONS = { snapshot: true, conflate: true };

class Harness {
  live = true;
  readonly sent: ClientRequest[] = [];
  readonly calls: string[] = [];
  /** Retry delays asked for: one per retry scheduled. */
  delays = 0;
  readonly table: RequestTable;
  /** What hooks.renewal() names when a renewal is sent. */
  renewing: string[] = [];
  private waiter: (() => void) | undefined;

  constructor(options: Partial<RequestTableOptions> = {}) {
    const retryDelayMs = options.retryDelayMs ?? (() => 5);
    this.table = new RequestTable({ timeoutMs: 0, maxRetries: 2, ...options, retryDelayMs: (retry) => (this.delays++, retryDelayMs(retry)) }, {
      live: () => this.live,
      send: (frame) => {
        this.sent.push(frame);
        this.waiter?.();
      },
      subscribed: (patterns) => this.calls.push(`subscribed ${patterns.join(',')}`),
      unsubscribed: (patterns) => this.calls.push(`unsubscribed ${patterns.join(',')}`),
      resubscriptionFailed: (patterns, err) => this.calls.push(`failed ${patterns.join(',')} ${err.code}`),
      resubscriptionRetried: (err) => this.calls.push(`retried ${err.code}`),
      renewal: () => this.renewing,
      renewalPlan: (patterns) => {
        this.calls.push(`renewal plan ${patterns.join(',')}`);
        return patterns.map((pattern) => ({ topics: [pattern], snapshot: true, conflate: true }));
      },
      renewalFailed: (err) => this.calls.push(`renewal failed ${err.code}`),
    });
  }

  /** The `index`-th frame sent (0 = the first), once it has been (bounded in time). */
  async frame(index: number): Promise<ClientRequest> {
    const deadline = performance.now() + 2000;
    while (this.sent.length <= index) {
      if (performance.now() > deadline) throw new Error(`no frame #${index} (sent ${JSON.stringify(this.sent)})`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 100);
      });
    }
    return this.sent[index]!;
  }

  answer(frame: ClientRequest): void {
    if (frame.op === 'subscribe' || frame.op === 'unsubscribe') this.table.onAnswer({ type: frame.op === 'subscribe' ? 'subscribed' : 'unsubscribed', id: frame.id, topics: [...frame.topics] });
    else if (frame.op === 'list') this.table.onQueryAnswer({ type: 'topics', id: frame.id, topics: ['tick.V.A'] });
    else this.table.onQueryAnswer({ type: 'pong', id: frame.id });
  }

  refuse(frame: ClientRequest, code: ErrorCode | 'SOMETHING_NEW'): boolean {
    return this.table.onError({ type: 'error', id: frame.id, code, message: `refused: ${code}` });
  }
}

test('subscribes and unsubscribes go one at a time, in call order, each after the answer to the one before', async (t) => {
  const h = new Harness();
  const a = h.table.subscribe(['tick.V.*'], OPTIONS);
  const b = h.table.unsubscribe(['tick.V.*']);
  t.is(h.sent.length, 1);
  t.like(h.sent[0], { op: 'subscribe', id: 1, topics: ['tick.V.*'], snapshot: true, conflate: true });
  h.answer(h.sent[0]!);
  t.deepEqual(await a, ['tick.V.*']);
  t.like(h.sent[1], { op: 'unsubscribe', id: 2 });
  h.answer(h.sent[1]!);
  t.deepEqual(await b, ['tick.V.*']);
  t.deepEqual(h.calls, ['subscribed tick.V.*', 'unsubscribed tick.V.*']);
});

test('a renewal unsubscribes the patterns named when it is sent, then subscribes them as planned once that is answered; one waiting covers later asks', async (t) => {
  const h = new Harness();
  const first = h.table.subscribe(['book.V.*'], OPTIONS);
  h.table.renew();
  h.table.renew();
  h.renewing = ['book.V.*', 'book.V.A'];
  h.answer(h.sent[0]!);
  await first;
  t.like(h.sent[1], { op: 'unsubscribe', topics: ['book.V.*', 'book.V.A'] });
  h.answer(h.sent[1]!);
  t.like(h.sent[2], { op: 'subscribe', topics: ['book.V.*'], snapshot: true });
  h.answer(h.sent[2]!);
  h.answer(await h.frame(3));
  t.like(h.sent[3], { op: 'subscribe', topics: ['book.V.A'] });
  t.is(h.sent.length, 4, 'the second renew() joined the first');
  t.deepEqual(h.calls, ['subscribed book.V.*', 'renewal plan book.V.*,book.V.A'], 'a renewal changes no subscription of the caller');

  h.renewing = [];
  h.table.renew();
  t.is(h.sent.length, 4, 'nothing to renew by the time it would go: nothing sent');
});

test('a renewal refused for good is reported and changes nothing; one in flight when the connection drops is not sent again', async (t) => {
  const h = new Harness();
  h.renewing = ['book.V.*'];
  h.table.renew();
  h.refuse(h.sent[0]!, 'BAD_REQUEST');
  t.deepEqual(h.calls, ['renewal failed BAD_REQUEST']);
  h.table.renew();
  h.table.disconnected();
  h.table.connected([]);
  t.is(h.sent.length, 2, 'the new connection\'s resubscriptions take everything afresh');
});

test('queries go at once, independent of the mutation order, and resolve with their answer', async (t) => {
  const h = new Harness();
  void h.table.subscribe(['tick.V.*'], OPTIONS);
  const list = h.table.query({ op: 'list', prefix: 'tick.' }, 'topics', (event) => (event as { topics: string[] }).topics);
  t.like(h.sent[1], { op: 'list', id: 2, prefix: 'tick.' });
  h.answer(h.sent[1]!);
  t.deepEqual(await list, ['tick.V.A']);
});

for (const code of ['UNAVAILABLE', 'RATE_LIMITED'] as const) {
  test(`a caller's subscribe refused with ${code} is sent again after a backoff, at most maxRetries times, then rejects with the last refusal; later requests wait behind it`, async (t) => {
    const h = new Harness({ maxRetries: 2 });
    const subscribing = h.table.subscribe(['tick.V.*'], OPTIONS);
    const after = h.table.unsubscribe(['tick.W.*']);
    t.true(h.refuse(await h.frame(0), code));
    const second = await h.frame(1);
    t.like(second, { op: 'subscribe', topics: ['tick.V.*'] });
    t.not(second.id, h.sent[0]!.id, 'a new id each time');
    h.refuse(second, code);
    h.refuse(await h.frame(2), code);
    const err = await t.throwsAsync(subscribing, { instanceOf: TickfanError });
    t.is(err!.code, code);
    t.true(err!.retryable);
    t.like(await h.frame(3), { op: 'unsubscribe', topics: ['tick.W.*'] }, 'the next request goes only now');
    h.answer(h.sent[3]!);
    await after;
    t.is(h.sent.length, 4, 'two retries, no more');
    t.deepEqual(h.calls, ['unsubscribed tick.W.*'], 'nothing subscribed');
  });
}

test("a caller's subscribe retried on UNAVAILABLE succeeds when the server can answer", async (t) => {
  const h = new Harness();
  const subscribing = h.table.subscribe(['tick.V.*'], OPTIONS);
  h.refuse(await h.frame(0), 'UNAVAILABLE');
  h.answer(await h.frame(1));
  t.deepEqual(await subscribing, ['tick.V.*']);
  t.deepEqual(h.calls, ['subscribed tick.V.*']);
});

for (const code of ['BAD_REQUEST', 'BAD_TOPIC', 'FORBIDDEN', 'TOO_MANY_SUBSCRIPTIONS'] as const) {
  test(`${code} is never retried: a caller's subscribe rejects at once, a resubscription gives its patterns up`, async (t) => {
    const h = new Harness();
    const subscribing = h.table.subscribe(['tick.V.*'], OPTIONS);
    h.refuse(h.sent[0]!, code);
    const err = await t.throwsAsync(subscribing, { instanceOf: TickfanError });
    t.is(err!.code, code);
    t.false(err!.retryable);
    h.table.connected([{ topics: ['tick.W.*'], snapshot: true, conflate: true }]);
    h.refuse(h.sent[1]!, code);
    t.is(h.delays, 0, 'no retry scheduled');
    t.deepEqual(h.calls, [`failed tick.W.* ${code}`]);
  });
}

test('a resubscription refused for now is reported and sent again; past maxRetries its patterns are given up', async (t) => {
  const h = new Harness({ maxRetries: 1 });
  h.table.connected([{ topics: ['tick.V.*'], snapshot: true, conflate: true, since: { 'tick.V.A': { epoch: 1, seq: 2 } } }]);
  h.refuse(await h.frame(0), 'RATE_LIMITED');
  const again = await h.frame(1);
  t.like(again, { op: 'subscribe', topics: ['tick.V.*'], since: { 'tick.V.A': { epoch: 1, seq: 2 } } });
  h.refuse(again, 'UNAVAILABLE');
  t.deepEqual(h.calls, ['retried RATE_LIMITED', 'failed tick.V.* UNAVAILABLE']);
});

test('a list refused with UNAVAILABLE is asked again (same id) and resolves; one refused with BAD_REQUEST rejects at once', async (t) => {
  const h = new Harness();
  const parse = (event: unknown) => (event as { topics: string[] }).topics;
  const listing = h.table.query({ op: 'list', prefix: 'tick.' }, 'topics', parse);
  h.refuse(await h.frame(0), 'UNAVAILABLE');
  const again = await h.frame(1);
  t.like(again, { op: 'list', id: h.sent[0]!.id });
  h.answer(again);
  t.deepEqual(await listing, ['tick.V.A']);
  const bad = h.table.query({ op: 'list', prefix: 'tick.' }, 'topics', parse);
  h.refuse(await h.frame(2), 'BAD_REQUEST');
  t.is((await t.throwsAsync(bad, { instanceOf: TickfanError }))!.code, 'BAD_REQUEST');
});

test('an error code this client does not know is PROTOCOL, keeps the server code, and is not retried', async (t) => {
  const h = new Harness();
  const subscribing = h.table.subscribe(['tick.V.*'], OPTIONS);
  h.refuse(h.sent[0]!, 'SOMETHING_NEW');
  const err = await t.throwsAsync(subscribing, { instanceOf: TickfanError });
  t.like(err, { code: 'PROTOCOL', serverCode: 'SOMETHING_NEW', name: 'TickfanError', retryable: false });
  t.regex(err!.message, /SOMETHING_NEW/);
  t.is(h.sent.length, 1);
});

test('an error answering no request is left to the client', (t) => {
  const h = new Harness();
  t.false(h.table.onError({ type: 'error', code: 'BAD_REQUEST', message: 'no id' }));
  t.false(h.table.onError({ type: 'error', id: 99, code: 'BAD_REQUEST', message: 'unknown id' }));
});

test('a caller waits at most timeoutMs (TIMEOUT); a subscribe not sent by then is never sent', async (t) => {
  const h = new Harness({ timeoutMs: 50 });
  const first = h.table.subscribe(['tick.A.*'], OPTIONS);
  const second = h.table.subscribe(['tick.B.*'], OPTIONS);
  t.is((await t.throwsAsync(first, { instanceOf: TickfanError }))!.code, 'TIMEOUT');
  t.is((await t.throwsAsync(second, { instanceOf: TickfanError }))!.code, 'TIMEOUT');
  h.answer(h.sent[0]!);
  t.deepEqual(h.calls, ['subscribed tick.A.*'], 'an answer that comes late still counts');
  t.is(h.sent.length, 1, 'the second was never sent');
});

test('a disconnect: what was in flight goes again after the resubscriptions; queries are asked again; stale resubscriptions are dropped', async (t) => {
  const h = new Harness();
  h.table.connected([{ topics: ['tick.OLD.*'], snapshot: true, conflate: true }]);
  const subscribing = h.table.subscribe(['tick.NEW.*'], OPTIONS);
  const pinging = h.table.query({ op: 'ping' }, 'pong', () => 'pong');
  t.deepEqual(h.sent.map((f) => f.op), ['subscribe', 'ping']);
  h.live = false;
  h.table.disconnected();
  h.live = true;
  h.table.connected([{ topics: ['tick.OLD.*'], snapshot: true, conflate: true, since: { 'tick.OLD.A': { epoch: 1, seq: 1 } } }]);
  t.like(h.sent[2], { op: 'ping' });
  t.like(h.sent[3], { op: 'subscribe', topics: ['tick.OLD.*'], since: { 'tick.OLD.A': { epoch: 1, seq: 1 } } });
  h.answer(h.sent[2]!);
  await pinging;
  h.answer(h.sent[3]!);
  t.like(h.sent[4], { op: 'subscribe', topics: ['tick.NEW.*'] });
  h.answer(h.sent[4]!);
  t.deepEqual(await subscribing, ['tick.NEW.*']);
  t.is(h.sent.length, 5);
});

test('fail() rejects every wait and cancels pending retries', async (t) => {
  const h = new Harness({ retryDelayMs: () => 20 });
  const subscribing = h.table.subscribe(['tick.V.*'], OPTIONS);
  const listing = h.table.query({ op: 'list', prefix: '' }, 'topics', () => []);
  h.refuse(h.sent[0]!, 'UNAVAILABLE');
  h.refuse(h.sent[1]!, 'UNAVAILABLE');
  h.table.fail(new TickfanError('CLOSED', 'closed'));
  t.is((await t.throwsAsync(subscribing, { instanceOf: TickfanError }))!.code, 'CLOSED');
  t.is((await t.throwsAsync(listing, { instanceOf: TickfanError }))!.code, 'CLOSED');
  await new Promise((resolve) => setTimeout(resolve, 60));
  t.is(h.sent.length, 2, 'no retry after fail()');
});
