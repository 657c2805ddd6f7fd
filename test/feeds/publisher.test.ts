import test from 'ava';
import { pino } from 'pino';
import { Subscriber } from 'zeromq';
import { TickPublisher } from '../../src/feeds/publisher.js';
import { bookChecksum, decodeMessage, type BookLevel, type BookRecord, type DecodedMessage, type TradeRecord } from '../../src/wire/index.js';
import { Conditions } from '../helpers/conditions.js';
import { TEST_SOCKETS } from '../helpers/sockets.js';
import { ipcDir } from '../helpers/tickfan-process.js';

/** A publisher connected to a SUB (standing in for the proxy) that keeps every message it receives. */
async function publisherWithSubscriber(queueLimit = 1000) {
  const dir = ipcDir();
  const endpoint = dir.endpoint('frontend');
  const subscriber = new Subscriber({ linger: 0 });
  await subscriber.bind(endpoint);
  subscriber.subscribe();
  const messages: DecodedMessage[] = [];
  const conditions = new Conditions();
  void (async () => {
    try {
      for await (const frames of subscriber) {
        messages.push(decodeMessage(frames));
        conditions.check();
      }
    } catch {
      // Closed.
    }
  })();
  const publisher = new TickPublisher({ endpoints: [endpoint], sendHwm: 1000, queueLimit, socket: TEST_SOCKETS, subscriberWaitMs: 5000 }, pino({ level: 'silent' }));
  await publisher.connect();
  return {
    publisher, messages,
    received: (n: number) => conditions.until(() => messages.length >= n, 5000, () => `${n} messages, have ${messages.length}`),
    async close() {
      await publisher.close();
      subscriber.close();
      dir.cleanup();
    },
  };
}

function book(action: BookRecord['action'], bids: BookLevel[], asks: BookLevel[], after: { bids: BookLevel[]; asks: BookLevel[] } = { bids, asks }): BookRecord {
  return { venue: 'V', symbol: 'X', action, bids, asks, checksum: bookChecksum(after.bids, after.asks) };
}

const trade: TradeRecord = { venue: 'V', symbol: 'X', price: 10, size: 2, side: 'buy', tradeId: '1', exchTs: 1764070000000000 };

test('ticks, books and trades go to their own topics, each with its own seq, in one epoch; a fresh book snapshot takes the next seq', async (t) => {
  const fabric = await publisherWithSubscriber();
  t.teardown(() => fabric.close());
  const { publisher } = fabric;
  const sink = publisher.sink('test');
  sink.tick({ venue: 'V', symbol: 'X', bid: 9, ask: 10 });
  t.true(sink.book(book('snapshot', [[9, 1]], [[10, 2]])));
  sink.trade(trade);
  t.true(sink.book(book('update', [[9, 3]], [], { bids: [[9, 3]], asks: [[10, 2]] })));
  sink.tick({ venue: 'V', symbol: 'X', bid: 9, ask: 10, last: 10 });
  t.true(sink.book(book('snapshot', [[8, 5]], [[11, 1]])), 'a snapshot mid-epoch');
  await fabric.received(6);
  t.deepEqual(fabric.messages.map((m) => [m.topic, m.header.seq]), [
    ['tick.V.X', 1], ['book.V.X', 1], ['trade.V.X', 1], ['book.V.X', 2], ['tick.V.X', 2], ['book.V.X', 3],
  ]);
  t.true(fabric.messages.every((m) => m.header.epoch === publisher.epoch && m.header.flags === 0));
  t.is(fabric.messages[2]!.frames[2].toString(), JSON.stringify(trade), 'encoded in protocol order');
  t.like(fabric.messages[5]!.record, { action: 'snapshot', bids: [[8, 5]], asks: [[11, 1]] });
  t.is(publisher.published, 6);
});

test('invalid book and trade records are dropped and counted by reason; an update before the first snapshot is refused', async (t) => {
  const fabric = await publisherWithSubscriber();
  t.teardown(() => fabric.close());
  const { publisher } = fabric;
  t.is(publisher.offer('book', book('update', [[9, 1]], []), 'src'), 'record', 'an update cannot open a book');
  t.is(publisher.offer('book', book('snapshot', [[9, 1], [10, 1]], []), 'src'), 'record', 'bids not best first');
  t.is(publisher.offer('book', { ...book('snapshot', [[9, 1]], []), checksum: -1 }, 'src'), 'record', 'a checksum that is no CRC-32');
  t.is(publisher.offer('trade', { ...trade, side: 'up' as TradeRecord['side'] }, 'src'), 'record');
  t.is(publisher.offer('trade', { ...trade, venue: 'A B' }, 'src'), 'topic');
  t.deepEqual(Object.fromEntries(publisher.rejected), { record: 4, topic: 1 });
  t.is(publisher.offer('book', book('snapshot', [[9, 1]], []), 'src'), undefined, 'the book opens with a snapshot');
  t.is(publisher.offer('book', book('snapshot', [[9, 1]], []), 'other'), 'owner', 'another source may not take the book over');
  await fabric.received(1);
  t.deepEqual(fabric.messages.map((m) => [m.topic, m.header.seq]), [['book.V.X', 1]], 'nothing refused went out, and no seq was spent on it');
});

test('after a lost record of a book its updates are refused until a snapshot, which goes out with the next seq', async (t) => {
  const fabric = await publisherWithSubscriber();
  t.teardown(() => fabric.close());
  const sink = fabric.publisher.sink('src');
  t.true(sink.book(book('snapshot', [[9, 1]], [[10, 1]])));
  t.false(sink.book({ ...book('update', [[9, 2]], [], { bids: [[9, 2]], asks: [[10, 1]] }), bids: [[9, -2]] }), 'an invalid update');
  t.false(sink.book(book('update', [[9, 3]], [], { bids: [[9, 3]], asks: [[10, 1]] })), 'a valid update on top of the lost one');
  t.true(sink.book(book('snapshot', [[9, 3]], [[10, 1]])));
  t.true(sink.book(book('update', [[9, 4]], [], { bids: [[9, 4]], asks: [[10, 1]] })));
  await fabric.received(3);
  t.deepEqual(fabric.messages.map((m) => [(m.record as BookRecord).action, m.header.seq]), [['snapshot', 1], ['snapshot', 2], ['update', 3]]);
  t.is(fabric.publisher.rejected.get('record'), 2);
});
