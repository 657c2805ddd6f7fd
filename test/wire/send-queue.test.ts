import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { SendQueue, type SendTarget } from '../../src/wire/send-queue.js';
import { holdsAsync } from './_helpers.js';

type Message = readonly Buffer[];

/**
 * A socket whose sends settle only when the test says so. Like zeromq.js it allows one pending send:
 * a send() while another is pending fails the test (and rejects, as zeromq.js would with EBUSY).
 */
class FakeSocket implements SendTarget {
  /** Every message handed to send(), in call order. */
  readonly sent: Message[] = [];
  private pending: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private sendWaiters: (() => void)[] = [];

  constructor(
    private readonly t: ExecutionContext,
    /** When set, each send resolves by itself in a later microtask (still pending while the queue awaits it). */
    private readonly autoResolve = false,
  ) {}

  send(message: Message): Promise<void> {
    if (this.pending) {
      this.t.fail('send() called while the previous send is still pending');
      return Promise.reject(new Error('EBUSY'));
    }
    this.sent.push(message);
    const settled = new Promise<void>((resolve, reject) => {
      this.pending = {
        resolve: () => { this.pending = undefined; resolve(); },
        reject: (err) => { this.pending = undefined; reject(err); },
      };
    });
    for (const wake of this.sendWaiters.splice(0)) wake();
    if (this.autoResolve) queueMicrotask(() => this.pending?.resolve());
    return settled;
  }

  get busy(): boolean {
    return this.pending !== undefined;
  }

  /** Resolves the pending send, waiting first for the queue to start one. */
  async resolveSend(): Promise<void> {
    await this.sendStarted();
    this.pending!.resolve();
  }

  /** Rejects the pending send, waiting first for the queue to start one. */
  async rejectSend(err: Error): Promise<void> {
    await this.sendStarted();
    this.pending!.reject(err);
  }

  /** Resolves as soon as a send is pending (at once if one already is). */
  sendStarted(): Promise<void> {
    return this.pending ? Promise.resolve() : new Promise((wake) => this.sendWaiters.push(wake));
  }

}

const msg = (label: string): Message => [Buffer.from(`tick.SIM.${label}`), Buffer.alloc(24), Buffer.from('{}')];
const labels = (messages: readonly Message[]) => messages.map((m) => m[0]!.toString().slice('tick.SIM.'.length));

function setup(t: ExecutionContext, limit = 100, autoResolve = false) {
  const socket = new FakeSocket(t, autoResolve);
  const errors: Error[] = [];
  const queue = new SendQueue(socket, limit, (err) => errors.push(err));
  return { socket, queue, errors };
}

/** Settles the pending send and waits until the queue has handed over the next message. */
async function completeSend(socket: FakeSocket): Promise<void> {
  await socket.resolveSend();
  await socket.sendStarted();
}

test('sends messages in push order, one at a time, waiting for each send to settle', async (t) => {
  const { socket, queue } = setup(t);
  const messages = ['A', 'B', 'C'].map(msg);
  for (const m of messages) t.true(queue.push(m));
  await socket.sendStarted();
  t.deepEqual(labels(socket.sent), ['A']);
  await completeSend(socket);
  t.deepEqual(labels(socket.sent), ['A', 'B']);
  await completeSend(socket);
  t.deepEqual(labels(socket.sent), ['A', 'B', 'C']);
  await socket.resolveSend();
  await queue.flushed();
  messages.forEach((m, i) => t.is(socket.sent[i], m, 'the very message object is handed to send()'));
});

test('never has two sends pending at once, even with many messages pushed while a send is pending', async (t) => {
  const { socket, queue } = setup(t, 10_000, true);
  const messages = Array.from({ length: 1000 }, (_, i) => msg(String(i)));
  for (const m of messages) queue.push(m);
  await queue.flushed();
  t.false(socket.busy);
  t.is(socket.sent.length, 1000);
  t.deepEqual(labels(socket.sent), labels(messages));
});

test('messages pushed while a batch is being sent are sent after it, in order', async (t) => {
  const { socket, queue } = setup(t);
  queue.push(msg('A'));
  queue.push(msg('B'));
  await completeSend(socket); // B is now in flight, from the batch [B]
  queue.push(msg('C'));
  queue.push(msg('D'));
  await completeSend(socket);
  await completeSend(socket);
  await socket.resolveSend();
  await queue.flushed();
  t.deepEqual(labels(socket.sent), ['A', 'B', 'C', 'D']);
});

test('size counts the message in flight and those waiting, and drops to 0 once all are sent', async (t) => {
  const { socket, queue } = setup(t);
  t.is(queue.size, 0);
  for (const label of ['A', 'B', 'C']) queue.push(msg(label));
  t.is(queue.size, 3, 'A in flight, B and C waiting');
  await completeSend(socket);
  t.is(queue.size, 2, 'B in flight, C waiting');
  await completeSend(socket);
  t.is(queue.size, 1, 'C in flight');
  await socket.resolveSend();
  await queue.flushed();
  t.is(queue.size, 0);
});

test('refuses a push beyond the limit, counting it in dropped, and accepts again once room frees up', async (t) => {
  const { socket, queue } = setup(t, 2);
  t.true(queue.push(msg('A')));
  t.true(queue.push(msg('B')));
  t.false(queue.push(msg('C')), 'A in flight plus B waiting fill a queue of 2');
  t.false(queue.push(msg('D')));
  t.is(queue.dropped, 2);
  t.is(queue.size, 2);
  await completeSend(socket);
  t.true(queue.push(msg('E')));
  t.is(queue.dropped, 2);
  await completeSend(socket);
  await socket.resolveSend();
  await queue.flushed();
  t.deepEqual(labels(socket.sent), ['A', 'B', 'E']);
  t.is(queue.failed, 0);
});

test('the message in flight counts against the limit', async (t) => {
  const { socket, queue } = setup(t, 1);
  t.true(queue.push(msg('A')));
  await socket.sendStarted();
  t.false(queue.push(msg('B')));
  t.is(queue.dropped, 1);
});

test('a rejected send counts in failed, goes to onError, and the queue goes on with the next message', async (t) => {
  const { socket, queue, errors } = setup(t);
  queue.push(msg('A'));
  queue.push(msg('B'));
  await socket.sendStarted();
  const closed = new Error('Socket is closed');
  await socket.rejectSend(closed);
  await socket.sendStarted();
  t.is(queue.failed, 1);
  t.deepEqual(errors, [closed]);
  t.is(errors[0], closed);
  t.is(queue.size, 1, 'the failed message left the queue');
  await socket.resolveSend();
  await queue.flushed();
  t.deepEqual(labels(socket.sent), ['A', 'B']);
  t.is(queue.failed, 1);
  t.is(queue.dropped, 0);
});

test('flushed() resolves only after every queued message was sent', async (t) => {
  const { socket, queue } = setup(t);
  queue.push(msg('A'));
  queue.push(msg('B'));
  let flushed = false;
  const done = queue.flushed().then(() => (flushed = true));
  await completeSend(socket);
  t.false(flushed, 'B is still in flight');
  queue.push(msg('C'));
  await completeSend(socket);
  t.false(flushed, 'C, pushed after flushed() was called, is still in flight');
  await socket.resolveSend();
  await done;
  t.deepEqual(labels(socket.sent), ['A', 'B', 'C']);
  t.is(queue.size, 0);
  t.false(socket.busy);
});

test('flushed() on an idle queue resolves at once', async (t) => {
  const { socket, queue } = setup(t);
  await queue.flushed();
  t.is(socket.sent.length, 0);
});

test('a queue that went idle sends again on the next push', async (t) => {
  const { socket, queue } = setup(t);
  queue.push(msg('A'));
  await socket.resolveSend();
  await queue.flushed();
  queue.push(msg('B'));
  await socket.sendStarted();
  await socket.resolveSend();
  await queue.flushed();
  t.deepEqual(labels(socket.sent), ['A', 'B']);
});

type Op = { kind: 'push' } | { kind: 'resolve' } | { kind: 'reject' };

test('property: against a model, sends are in order and one at a time, and size, dropped and failed add up', async (t) => {
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.constant({ kind: 'push' as const }), weight: 3 },
    fc.constant({ kind: 'resolve' as const }),
    fc.constant({ kind: 'reject' as const }),
  );
  await holdsAsync(
    t,
    fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.array(opArb, { maxLength: 40 }), async (limit, ops) => {
      const { socket, queue, errors } = setup(t, limit);
      const model = { accepted: [] as Message[], queued: 0, dropped: 0, failed: 0 };
      for (const [i, op] of ops.entries()) {
        if (op.kind === 'push') {
          const m = msg(String(i));
          const room = model.queued < limit;
          if (queue.push(m) !== room) return false;
          if (room) { model.accepted.push(m); model.queued++; } else model.dropped++;
        } else if (model.queued > 0) {
          if (op.kind === 'resolve') await socket.resolveSend();
          else { await socket.rejectSend(new Error(`send ${i} failed`)); model.failed++; }
          model.queued--;
        }
        // Let the queue settle: either it hands over the next message, or it goes idle.
        await (model.queued > 0 ? socket.sendStarted() : queue.flushed());
        const sentSoFar = model.accepted.slice(0, model.accepted.length - model.queued + (model.queued > 0 ? 1 : 0));
        const consistent = queue.size === model.queued && queue.dropped === model.dropped && queue.failed === model.failed
          && errors.length === model.failed && socket.busy === model.queued > 0
          && socket.sent.length === sentSoFar.length && socket.sent.every((m, j) => m === sentSoFar[j]);
        if (!consistent) return false;
      }
      return true;
    }),
  );
});

test('a send that throws synchronously counts in failed and the queue goes on and flushes', async (t) => {
  const sent: string[] = [];
  const errors: string[] = [];
  const target: SendTarget = {
    send(message) {
      if (sent.length === 0) {
        sent.push('threw');
        throw new Error('socket closed');
      }
      sent.push(message[0]!.toString());
      return Promise.resolve();
    },
  };
  const queue = new SendQueue(target, 10, (err) => errors.push(err.message));
  for (const text of ['a', 'b', 'c']) queue.push([Buffer.from(text)]);
  await queue.flushed();
  t.deepEqual(sent, ['threw', 'b', 'c']);
  t.deepEqual(errors, ['socket closed']);
  t.is(queue.failed, 1);
  t.is(queue.size, 0);
});
