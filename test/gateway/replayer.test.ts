/**
 * The gateway's REPLAY requests (src/gateway/replay.ts) against a stand-in snapshot service (a
 * real ROUTER on ipc that the test answers by hand): bounded concurrency, shared requests, and
 * what each kind of answer becomes.
 */
import test from 'ava';
import { Router } from 'zeromq';
import { Replayer, type ReplayAnswer } from '../../src/gateway/replay.js';
import { encodeErrorReply, encodeMessage, encodeRecordsReply, type Frames } from '../../src/wire/index.js';
import { ipcDir } from '../helpers/tickfan-process.js';
import { Conditions } from '../helpers/conditions.js';

const EPOCH = 7;

/** A ROUTER that holds each REPLAY request until the test answers it. */
class StandIn {
  readonly requests: { topic: string; epoch: number; fromSeq: number; reply(frames: Buffer[]): Promise<void> }[] = [];
  maxOutstanding = 0;
  private outstanding = 0;
  private readonly socket = new Router({ linger: 0 });
  private readonly conditions = new Conditions();

  constructor(readonly endpoint: string) {}

  async start(): Promise<void> {
    await this.socket.bind(this.endpoint);
    void this.serve();
  }

  /** Resolves once `count` requests have arrived in all. */
  received(count: number): Promise<void> {
    return this.conditions.until(() => this.requests.length >= count, 5000, () => `${count} requests (have ${this.requests.length})`);
  }

  close(): void {
    this.socket.close();
  }

  private async serve(): Promise<void> {
    try {
      for await (const [identity, , , topic, epoch, fromSeq] of this.socket) {
        this.outstanding++;
        this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
        this.requests.push({
          topic: topic!.toString(), epoch: Number(epoch), fromSeq: Number(fromSeq),
          reply: async (frames) => {
            this.outstanding--;
            await this.socket.send([identity!, Buffer.alloc(0), ...frames]);
          },
        });
        this.conditions.check();
      }
    } catch {
      // closed
    }
  }
}

function records(topic: string, from: number, to: number, epoch = EPOCH): Frames[] {
  const out: Frames[] = [];
  const [, venue, symbol] = topic.split('.');
  for (let seq = from; seq <= to; seq++) out.push(encodeMessage(topic, { flags: 0, epoch, seq, ts: 1_700_000_000_000_000 + seq }, Buffer.from(`{"venue":"${venue}","symbol":"${symbol}","bid":${seq}}`)));
  return out;
}

function seqsOf(answer: ReplayAnswer): number[] | string {
  return answer.result === 'ok' ? answer.records.map((record) => record.header.seq) : answer.result;
}

async function setup(t: import('ava').ExecutionContext, options: { concurrency?: number; maxQueued?: number; timeoutMs?: number } = {}) {
  const dir = ipcDir();
  const service = new StandIn(dir.endpoint('snapshot'));
  await service.start();
  const replayer = new Replayer({ endpoints: [service.endpoint], timeoutMs: options.timeoutMs ?? 5000, concurrency: options.concurrency ?? 2, maxQueued: options.maxQueued ?? 100 });
  t.teardown(() => {
    replayer.close();
    service.close();
    dir.cleanup();
  });
  return { service, replayer };
}

test('at most `concurrency` requests in flight; the rest wait in order, and every one is answered', async (t) => {
  const { service, replayer } = await setup(t, { concurrency: 2 });
  const answers = Array.from({ length: 6 }, (_, i) => replayer.replay(`tick.V.T${i}`, EPOCH, 3));
  await service.received(2);
  t.is(replayer.inFlightCount, 2);
  t.is(replayer.waitingCount, 4);
  for (let answered = 0; answered < 6; answered++) {
    await service.received(Math.min(6, answered + 2));
    const request = service.requests[answered]!;
    await request.reply(encodeRecordsReply(records(request.topic, request.fromSeq, request.fromSeq + 1)));
  }
  const results = await Promise.all(answers);
  t.deepEqual(results.map(seqsOf), Array(6).fill([3, 4]));
  t.deepEqual(service.requests.map((r) => r.topic), Array.from({ length: 6 }, (_, i) => `tick.V.T${i}`), 'in the order asked');
  t.is(service.maxOutstanding, 2, 'never more than two at the service at once');
  t.is(replayer.results.get('ok'), 6);
});

test('resumes of one topic share a request: one in flight from at or before their seq, or a waiting one that is widened', async (t) => {
  const { service, replayer } = await setup(t, { concurrency: 1 });
  const first = replayer.replay('tick.V.A', EPOCH, 10);
  await service.received(1);
  const later = replayer.replay('tick.V.A', EPOCH, 12);
  const earlier = replayer.replay('tick.V.A', EPOCH, 5);
  const earliest = replayer.replay('tick.V.A', EPOCH, 3);
  const otherEpoch = replayer.replay('tick.V.A', EPOCH + 1, 3);
  t.is(replayer.waitingCount, 2, 'one more request of the topic (widened to 3) and one of the other epoch');
  await service.requests[0]!.reply(encodeRecordsReply(records('tick.V.A', 10, 14)));
  t.deepEqual(seqsOf(await first), [10, 11, 12, 13, 14]);
  t.deepEqual(seqsOf(await later), [12, 13, 14], 'joined the request in flight, its own part of it');
  await service.received(2);
  t.like(service.requests[1], { topic: 'tick.V.A', epoch: EPOCH, fromSeq: 3 });
  await service.requests[1]!.reply(encodeRecordsReply(records('tick.V.A', 3, 14)));
  t.deepEqual(seqsOf(await earlier), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  t.deepEqual(seqsOf(await earliest), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  await service.received(3);
  await service.requests[2]!.reply(encodeErrorReply('GONE', 'not the current epoch'));
  t.is(seqsOf(await otherEpoch), 'gone');
  t.is(service.requests.length, 3, 'three requests for five resumes');
});

test('GONE, UNAVAILABLE, a reply out of order, and no answer in time each become their result; a full queue refuses at once', async (t) => {
  const { service, replayer } = await setup(t, { concurrency: 1, maxQueued: 2, timeoutMs: 300 });
  const gone = replayer.replay('tick.V.G', EPOCH, 3);
  const unavailable = replayer.replay('tick.V.U', EPOCH, 3);
  const broken = replayer.replay('tick.V.B', EPOCH, 3);
  t.is((await replayer.replay('tick.V.F', EPOCH, 3)).result, 'queue_full', 'two already wait');
  await service.received(1);
  await service.requests[0]!.reply(encodeErrorReply('GONE', 'older than the retained history'));
  t.is(seqsOf(await gone), 'gone');
  await service.received(2);
  await service.requests[1]!.reply(encodeErrorReply('UNAVAILABLE', 'not caught up'));
  t.is(seqsOf(await unavailable), 'unavailable');
  await service.received(3);
  await service.requests[2]!.reply(encodeRecordsReply([...records('tick.V.B', 3, 4), ...records('tick.V.B', 6, 6)]));
  const answer = await broken;
  t.is(answer.result, 'error');
  t.regex(answer.result === 'error' ? answer.reason : '', /record 2 as tick\.V\.B 7:6, expected tick\.V\.B 7:5/);
  const silent = await replayer.replay('tick.V.S', EPOCH, 3);
  t.is(silent.result, 'timeout', 'the request is never answered');
  t.deepEqual(Object.fromEntries(replayer.results), { queue_full: 1, gone: 1, unavailable: 1, error: 1, timeout: 1 });
});
