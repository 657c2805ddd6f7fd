/**
 * The fuzz surfaces of issue 14 (not a test file itself): each input tickfan takes from outside,
 * driven through the code that takes it. A surface opens what it needs (a gateway, a snapshot
 * service), then offers a fast-check property whose every run feeds one input and checks that it
 * was either accepted or refused the documented way; each outcome is tallied by kind, so a run
 * shows how many inputs took which path. Anything else (another exception, a hang, a crash, a
 * healthy bystander starved) fails the property with the input as counterexample. Where the code
 * path counts its refusals in a metric, every batch also checks that the role's counter rose by
 * exactly the refusals the fuzzing client saw (Refusals).
 *
 * test/fuzz/fuzz.test.ts runs every surface a fixed number of times; scripts/fuzz.ts for minutes.
 */
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { Dealer, Push, Request, XPublisher } from 'zeromq';
import { LineSet } from '../../src/client/zmq/index.js';
import { loadConfig, schema } from '../../src/cli/config.js';
import { ConfigError, settingKeys } from '../../src/config/index.js';
import { decodePush, IngestAdapter } from '../../src/feeds/ingest/index.js';
import { AdapterSupervisor, type Deliver } from '../../src/feeds/supervisor.js';
import { VenueStatus } from '../../src/feeds/venue-status.js';
import { isCsvHeader, parseCsvLine, parseRecordedLine } from '../../src/feeds/replay/format.js';
import { AuthError, Authenticator } from '../../src/gateway/auth.js';
import { createLogger } from '../../src/log/index.js';
import { SnapshotService } from '../../src/snapshot/service.js';
import { SnapshotStore } from '../../src/snapshot/store.js';
import {
  CloseCode, REJECT_REASONS, RequestError, WireError, decodeEnvelope, decodeMessage, decodeRecord, isErrorCode, parseRequest,
  encodeMessage, parseSnapshotReply, SnapshotErrorCode, type DecodedMessage, type TickRecord,
} from '../../src/wire/index.js';
import { Fabric, WsClient } from '../gateway/_helpers.js';
import { run } from '../snapshot/_helpers.js';
import { ipcDir, withTimeout } from '../helpers/tickfan-process.js';
import {
  anyJson, bytes, deepJson, headerLike, hugeJson, invalidUtf8, nearValidStatus, nearValidTick, payloadLike, recordLike, topicFrame, topicLike, validPattern,
} from './inputs.js';

/** How many inputs took each path, e.g. `accepted`, `rejected:topic`. */
export type Tally = Map<string, number>;

export interface OpenSurface {
  readonly property: fc.IRawProperty<any>;
  /** Absent where the code path keeps no counter of its refusals (docs/fuzzing.md says why for each). */
  readonly refusals?: Refusals;
  close(): Promise<void>;
}

/**
 * A surface's refusals twice over, keyed alike (`error:BAD_REQUEST`, `closed:1008`, `ERR:GONE`,
 * `rejected:topic`): as the fuzzing client saw them, and as the role's own counters, the ones its
 * metrics export, counted them. Both are totals since the surface opened.
 */
export interface Refusals {
  /** The metrics that export `counted`, for the report. */
  readonly metrics: string;
  seen(): Tally;
  counted(): Tally;
}

export interface Surface {
  readonly name: string;
  /** Runs in `npm test`: enough to cover every path, few enough for a small share of its time. */
  readonly ciRuns: number;
  open(tally: Tally): Promise<OpenSurface>;
}

function count(tally: Tally, outcome: string, n = 1): void {
  tally.set(outcome, (tally.get(outcome) ?? 0) + n);
}

/** The outcomes of `tally` that `refused` picks: what a client saw refused, when the tally names each refusal as it came. */
const refusalsIn = (tally: Tally, refused: (outcome: string) => boolean): Tally => new Map([...tally].filter(([outcome]) => refused(outcome)));

/** A surface of a pure function: no setup; `classify` names the outcome of one input or throws. */
function pure<T>(name: string, ciRuns: number, input: fc.Arbitrary<T>, classify: (value: T) => string): Surface {
  return {
    name,
    ciRuns,
    async open(tally) {
      return { property: fc.property(input, (value) => count(tally, classify(value))), close: async () => {} };
    },
  };
}

/** The outcome `known` names for `err`; rethrows an error it does not know, so an unexpected exception fails the run. */
function expect(err: unknown, known: (err: unknown) => string | undefined): string {
  const outcome = known(err);
  if (outcome === undefined) throw err;
  return outcome;
}

const wireReject = (err: unknown): string | undefined =>
  err instanceof WireError && (REJECT_REASONS as readonly string[]).includes(err.reason) ? `rejected:${err.reason}` : undefined;

// ---------------------------------------------------------------- WebSocket requests (parser)

/** A request object with op and fields drawn so that most parse far enough to be checked deeply. */
const requestLike = fc.record(
  {
    op: fc.oneof(fc.constantFrom('subscribe', 'unsubscribe', 'list', 'ping'), anyJson),
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), anyJson),
    topics: fc.oneof(fc.array(validPattern, { minLength: 1, maxLength: 4 }), fc.array(topicLike, { maxLength: 8 }), fc.array(topicLike, { minLength: 1001, maxLength: 1002 }), anyJson),
    prefix: fc.oneof(validPattern.map((p) => p.replace('*', '')), topicLike, anyJson),
    snapshot: fc.oneof(fc.boolean(), anyJson),
    conflate: fc.oneof(fc.boolean(), anyJson),
    since: fc.oneof(
      fc.dictionary(topicLike, fc.record({ epoch: fc.oneof(fc.integer(), fc.double(), anyJson), seq: fc.oneof(fc.integer(), anyJson) }, { requiredKeys: [] }), { maxKeys: 3 }),
      anyJson,
    ),
  },
  { requiredKeys: ['op'] },
);

/** Well-formed requests, so the valid paths (subscribe with since, list, unsubscribe) are taken too. */
const validRequest = fc.oneof(
  fc.record({
    op: fc.constant('subscribe'), id: fc.nat(), topics: fc.array(validPattern, { minLength: 1, maxLength: 3 }), snapshot: fc.boolean(), conflate: fc.boolean(),
    since: fc.dictionary(fc.constantFrom('tick.SIM.BTC-USD', 'tick.SIMEQ.AAPL'), fc.record({ epoch: fc.integer({ min: 1, max: 0xffff_ffff }), seq: fc.nat() })),
  }, { requiredKeys: ['op', 'topics'] }),
  fc.record({ op: fc.constant('unsubscribe'), id: fc.string({ maxLength: 8 }), topics: fc.array(validPattern, { minLength: 1, maxLength: 3 }) }),
  fc.record({ op: fc.constant('list'), prefix: validPattern.map((p) => p.replace('*', '')) }, { requiredKeys: ['op'] }),
);

/** Request frames as text: (almost) well-formed requests, any JSON, strings, deep or huge JSON, bytes as decoded text. */
const requestText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: validRequest.map((r) => JSON.stringify(r)) },
  { weight: 6, arbitrary: requestLike.map((r) => JSON.stringify(r)) },
  { weight: 2, arbitrary: anyJson.map((v) => JSON.stringify(v) ?? 'undefined') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.oneof(deepJson, hugeJson) },
  { weight: 1, arbitrary: fc.oneof(bytes(), invalidUtf8(requestLike.map((r) => JSON.stringify(r)))).map((b) => b.toString('utf8')) },
);

const wsParser = pure('websocket-parse', 1000, requestText, (text) => {
  try {
    return `accepted:${parseRequest(text).op}`;
  } catch (err) {
    return expect(err, (e) => (e instanceof RequestError && isErrorCode(e.code) ? `error:${e.code}` : undefined));
  }
});

// ---------------------------------------------------------------- WebSocket requests (a real gateway)

/** A frame as a client can send it: text, a binary frame, invalid UTF-8 in a text frame, around the 64 KiB limit. */
type WsFrame = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'binary' | 'badText'; readonly bytes: Buffer };

const wsFrame: fc.Arbitrary<WsFrame> = fc.oneof(
  { weight: 8, arbitrary: requestText.map((text) => ({ kind: 'text' as const, text })) },
  { weight: 1, arbitrary: bytes().map((b) => ({ kind: 'binary' as const, bytes: b })) },
  { weight: 1, arbitrary: invalidUtf8(requestText).map((b) => ({ kind: 'badText' as const, bytes: b })) },
  { weight: 1, arbitrary: fc.integer({ min: 64 * 1024 - 2, max: 64 * 1024 + 2 }).map((n) => ({ kind: 'text' as const, text: 'x'.repeat(n) })) },
);

/**
 * Close codes a fuzzing client may get: POLICY for a burst of bad requests, TOO_BIG for a frame over
 * 64 KiB (PROTOCOL.md section 5), and 1007 (RFC 6455: a text frame that is not UTF-8), which ws
 * sends before the gateway sees the frame.
 */
const FUZZ_CLOSE_CODES = new Set<number>([CloseCode.POLICY, CloseCode.TOO_BIG, 1007]);

/** The events that answer a request (PROTOCOL.md section 5), each request exactly one. */
const ANSWER_TYPES = new Set(['subscribed', 'unsubscribed', 'topics', 'pong', 'refreshed', 'error']);

/** How long one frame may take to be answered or to close the connection before the run fails as a hang. */
const ANSWER_MS = 5000;

const wsGateway: Surface = {
  name: 'websocket-gateway',
  ciRuns: 300,
  async open(tally) {
    const fabric = await Fabric.startSmall(200, 14);
    // Prefixes stay followed a while after the last client leaves them, as by default (the fabric releases them at once):
    // a subscribe is then answered from held state, not after a new upstream subscription.
    const gw = await fabric.gateway({ TICKFAN_GATEWAY_UPSTREAM_LINGER_MS: '10000' });
    // The bystander: a healthy client subscribed to everything, which must keep receiving ticks.
    const bystander = await gw.join();
    await bystander.request({ op: 'subscribe', id: 'bystander', topics: ['*'] });
    // Not gw.join(): the fabric keeps every client it made until it stops, and a long run makes thousands.
    const join = async (): Promise<WsClient> => {
      const client = await WsClient.connect(gw.url);
      await client.waitFor((e) => e.type === 'welcome', { what: 'welcome' });
      return client;
    };
    let fuzzer = await join();
    let pings = 0;
    // Every error event and documented close any fuzzing connection got, as the gateway's metrics count them.
    const seen: Tally = new Map();
    // Requests the current connection was sent and answers it got: every request gets exactly one
    // (a list or subscribe after the pings that follow it, once the snapshot service answered).
    let requests = 0;
    let answers = 0;
    let scanned = 0;
    const scan = (): void => {
      for (; scanned < fuzzer.events.length; scanned++) {
        const e = fuzzer.events[scanned]!;
        if (ANSWER_TYPES.has(e.type)) answers++;
        if (e.type === 'error') count(seen, `error:${String(e.code)}`);
      }
    };
    const replaceClosed = async (): Promise<void> => {
      scan();
      count(seen, `closed:${fuzzer.closeCode}`);
      fuzzer = await join();
      requests = answers = scanned = 0;
    };

    const property = fc.asyncProperty(wsFrame, async (frame) => {
      if (fuzzer.closeCode !== undefined) await replaceClosed();
      // The bystander's events only matter from the last run on; keeping them all would grow the harness, not the gateway.
      bystander.events.splice(0);
      bystander.arrivals.splice(0);
      // Nor the fuzzer's, once counted.
      scan();
      fuzzer.events.splice(0);
      fuzzer.arrivals.splice(0);
      scanned = 0;
      const id = `probe-${++pings}`;
      if (frame.kind === 'text') fuzzer.send(frame.text);
      else fuzzer.ws.send(frame.bytes, { binary: frame.kind === 'binary' });
      requests++;
      // The ping after the frame: its pong proves the frame was dealt with and the connection lives on.
      if (fuzzer.ws.readyState === fuzzer.ws.OPEN) {
        fuzzer.send({ op: 'ping', id });
        requests++;
      }
      // Until every request so far is answered, so no answer is still on its way when a later frame
      // closes the connection: such an answer would be counted, never seen.
      await fuzzer.until(() => {
        scan();
        return fuzzer.closeCode !== undefined || (answers === requests && fuzzer.events.some((e) => e.type === 'pong' && e.id === id));
      }, ANSWER_MS, () => `the gateway to answer ${JSON.stringify(frame).slice(0, 200)} (${answers} of ${requests} requests answered)`);
      if (answers > requests) throw new Error(`${answers} answers to ${requests} requests`);
      const answered = fuzzer.events;
      for (const e of answered) {
        if (e.type === 'error' && !isErrorCode(e.code)) throw new Error(`error event with an unknown code: ${JSON.stringify(e)}`);
      }
      if (fuzzer.badFrames.length > 0) throw new Error(`a frame that is not a JSON array of events: ${fuzzer.badFrames[0]}`);
      if (fuzzer.closeCode !== undefined) {
        if (!FUZZ_CLOSE_CODES.has(fuzzer.closeCode)) throw new Error(`closed with ${fuzzer.closeCode}, not a documented code`);
        count(tally, `closed:${fuzzer.closeCode}`);
      } else {
        const error = answered.find((e) => e.type === 'error');
        count(tally, error ? `error:${String(error.code)}` : 'answered');
      }
      if (bystander.closeCode !== undefined) throw new Error(`the bystander was closed with ${bystander.closeCode}`);
    });

    // tickfan_gateway_client_errors_total{code} and tickfan_gateway_connections_closed_total{code}, for the codes a fuzzer can earn.
    const { counters } = gw.gateway;
    const refusals: Refusals = {
      metrics: 'tickfan_gateway_client_errors_total, tickfan_gateway_connections_closed_total{code=~"1007|1008|1009"}',
      seen: () => {
        scan();
        const now = new Map(seen);
        if (fuzzer.closeCode !== undefined) count(now, `closed:${fuzzer.closeCode}`);
        return now;
      },
      counted: () => {
        const counted: Tally = new Map();
        for (const [code, n] of counters.errorsByCode) count(counted, `error:${code}`, n);
        for (const [code, n] of counters.closedByCode) if (FUZZ_CLOSE_CODES.has(code)) count(counted, `closed:${code}`, n);
        return counted;
      },
    };

    return {
      property,
      refusals,
      async close() {
        try {
          // The bystander still lives and still receives ticks after everything the fuzzer sent.
          const before = bystander.data().length;
          await bystander.until(() => bystander.data().length > before + 5, ANSWER_MS, () => 'the bystander to keep receiving ticks');
          const pong = await bystander.request({ op: 'ping', id: 'still-there' });
          if (pong.type !== 'pong' || bystander.badFrames.length > 0) throw new Error(`the bystander is unwell: ${JSON.stringify(pong)} ${bystander.badFrames[0] ?? ''}`);
        } finally {
          await fuzzer.close();
          await fabric.stop();
        }
      },
    };
  },
};

// ---------------------------------------------------------------- snapshot requests

/** What the fuzzed snapshot service holds: one topic's run, so SNAPSHOT and REPLAY can answer OK. */
const STORED_TOPIC = 'tick.SIM.BTC-USD';
const STORED_EPOCH = 7;
const STORED_SEQS = 50;

/** Request bodies: well-formed requests with random arguments, a known command with any arguments, or any frames at all. */
const snapshotBody: fc.Arbitrary<Buffer[]> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.oneof(validPattern.map((p) => p.replace('*', '')), topicLike).map((prefix) => ['SNAPSHOT', prefix]),
      fc.tuple(fc.oneof(fc.constant(STORED_TOPIC), topicLike), fc.oneof(fc.constant(STORED_EPOCH), fc.integer()), fc.oneof(fc.integer({ min: 0, max: STORED_SEQS + 2 }), fc.integer()))
        .map(([topic, epoch, seq]) => ['REPLAY', topic, String(epoch), String(seq)]),
    ).map((frames) => frames.map((frame) => Buffer.from(frame))),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(
      fc.constantFrom('SNAPSHOT', 'REPLAY', 'PING', 'snapshot', 'PONG', ''),
      fc.array(fc.oneof(topicLike.map((s) => Buffer.from(s)), fc.integer().map((n) => Buffer.from(String(n))), bytes(16)), { maxLength: 5 }),
    ).map(([command, args]) => [Buffer.from(command), ...args]),
  },
  { weight: 1, arbitrary: fc.array(bytes(64), { maxLength: 8 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 300 }).map((n) => Array.from({ length: n }, () => Buffer.from('PING'))) },
);

/** One socket asking one request at a time: a REQ, or a DEALER adding the delimiter (or not). */
type Asker = { send(frames: Buffer[]): Promise<void>; receive(): Promise<Buffer[]>; close(): void };

function asker(kind: 'REQ' | 'DEALER', endpoint: string): Asker {
  const options = { receiveTimeout: ANSWER_MS, sendTimeout: ANSWER_MS, linger: 0 };
  const socket = kind === 'REQ' ? new Request(options) : new Dealer(options);
  socket.connect(endpoint);
  return { send: (frames) => socket.send(frames), receive: () => socket.receive(), close: () => socket.close() };
}

const snapshotRequests: Surface = {
  name: 'snapshot-requests',
  ciRuns: 500,
  async open(tally) {
    const store = new SnapshotStore({ historyPerTopic: 100, historyMaxBytes: 1 << 20, maxTopics: 1000 });
    for (const m of run(STORED_TOPIC, STORED_EPOCH, 1, STORED_SEQS)) store.ingest(m);
    const service = new SnapshotService(store, { endpoint: 'tcp://127.0.0.1:*', maxRecords: 1000, replyQueueLimit: 1000, sendHwm: 1000, lingerMs: 0 }, createLogger('silent'));
    const endpoint = await service.start();
    const req = asker('REQ', endpoint);
    const dealer = asker('DEALER', endpoint);

    /** Sends `frames` on the DEALER and returns the one reply's body: what follows the envelope echoed up to its empty delimiter. */
    const ask = async (frames: Buffer[]): Promise<Buffer[]> => {
      await dealer.send(frames);
      const reply = await dealer.receive();
      return reply.slice(reply.findIndex((frame) => frame.length === 0) + 1);
    };

    const property = fc.asyncProperty(snapshotBody, fc.constantFrom('REQ', 'DEALER', 'DEALER-no-delimiter'), async (body, via) => {
      let reply: Buffer[];
      if (via === 'REQ') {
        if (body.length === 0) return; // a REQ cannot send an empty message; the DEALER covers it
        await req.send(body);
        reply = await req.receive();
      } else {
        reply = await ask(via === 'DEALER' ? [Buffer.alloc(0), ...body] : body.length === 0 ? [Buffer.from('x')] : body);
      }
      const parsed = parseSnapshotReply(reply);
      count(tally, parsed.status === 'ERR' ? `ERR:${parsed.code}` : parsed.status);
      if (parsed.status === 'ERR' && !Object.values(SnapshotErrorCode).includes(parsed.code)) throw new Error(`unknown error code ${parsed.code}`);
      // Exactly one reply: the next thing the DEALER receives is the PONG to this PING, nothing left over.
      const pong = parseSnapshotReply(await ask([Buffer.alloc(0), Buffer.from('PING')]));
      if (pong.status !== 'PONG') throw new Error(`PING after ${body.length} frames answered ${pong.status}`);
    });

    // SnapshotService.requests is tickfan_snapshot_requests_total{command,result}: an ERR reply is counted by its code as result.
    const refusals: Refusals = {
      metrics: 'tickfan_snapshot_requests_total{result!="ok"}',
      seen: () => refusalsIn(tally, (outcome) => outcome.startsWith('ERR:')),
      counted: () => {
        const counted: Tally = new Map();
        for (const [key, n] of service.requests) {
          const result = key.slice(key.indexOf(' ') + 1);
          if (result !== 'ok') count(counted, `ERR:${result.toUpperCase()}`, n);
        }
        return counted;
      },
    };

    return {
      property,
      refusals,
      async close() {
        req.close();
        dealer.close();
        await service.close();
      },
    };
  },
};

// ---------------------------------------------------------------- the 3-frame data message

/** Messages as a publisher on the fabric may send them: near-valid, any frames (at least one: ZeroMQ sends no empty message). */
const dataFrames: fc.Arbitrary<Buffer[]> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.oneof(nearValidTick, nearValidStatus), headerLike).map(([m, header]) => [Buffer.from(m.topic), header, Buffer.from(JSON.stringify(m.record))]) },
  { weight: 4, arbitrary: fc.tuple(topicFrame, headerLike, payloadLike).map((f) => [...f]) },
  { weight: 1, arbitrary: fc.array(bytes(32), { minLength: 1, maxLength: 5 }) },
);

/** What decoding `decode` makes of `frames`: `accepted:tick`, `rejected:header`, ... */
function decodedAs(decode: () => DecodedMessage): string {
  try {
    return `accepted:${decode().kind}`;
  } catch (err) {
    return expect(err, wireReject);
  }
}

/** A valid message published after each input: once it comes out, the input before it has been dealt with. */
const PROBE_TOPIC = 'tick.FUZZPROBE.X';
const DATA_PROBE = [...encodeMessage(PROBE_TOPIC, { flags: 0, epoch: 1, seq: 1, ts: 1 }, Buffer.from(JSON.stringify({ venue: 'FUZZPROBE', symbol: 'X', bid: 1 })))];

/**
 * The data message as the snapshot service and the gateway read the proxy backend: a LineSet
 * subscribed to everything, whose rejected counts are tickfan_snapshot_messages_rejected_total and
 * tickfan_gateway_messages_rejected_total, fed by a publisher. decodeMessage and decodeEnvelope +
 * decodeRecord (the two ways a subscriber decodes) must agree on each input and name its outcome;
 * the line set must then pass on exactly the accepted inputs and count the others by reason.
 */
const dataMessage: Surface = {
  name: 'data-message',
  ciRuns: 1000,
  async open(tally) {
    const dir = ipcDir();
    const endpoint = dir.endpoint('backend');
    const publisher = new XPublisher({ linger: 0, sendTimeout: ANSWER_MS });
    await publisher.bind(endpoint);
    const lines = new LineSet({ endpoints: [endpoint], prefixes: [''] });
    const messages = lines[Symbol.asyncIterator]();
    // The XPUB hears the subscription: from then on every message published reaches the line set.
    await withTimeout(publisher.receive(), ANSWER_MS, 'the line set to subscribe');
    const next = async (): Promise<DecodedMessage> => {
      const { value, done } = await withTimeout(messages.next(), ANSWER_MS, 'the next message from the line set');
      if (done) throw new Error('the line set ended');
      return value;
    };

    const property = fc.asyncProperty(dataFrames, async (frames) => {
      const expected = decodedAs(() => decodeMessage(frames));
      const inTwoSteps = decodedAs(() => decodeRecord(decodeEnvelope(frames)));
      if (inTwoSteps !== expected) throw new Error(`decodeMessage: ${expected}, but decodeEnvelope and decodeRecord: ${inTwoSteps}`);
      await publisher.send(frames);
      await publisher.send(DATA_PROBE);
      let passedOn = false;
      while ((await next()).topic !== PROBE_TOPIC) passedOn = true;
      if (passedOn !== expected.startsWith('accepted:')) throw new Error(`decoded as ${expected}, but the line set ${passedOn ? 'passed it on' : 'dropped it'}`);
      count(tally, expected);
    });

    const refusals: Refusals = {
      metrics: 'LineSet.rejected: tickfan_snapshot_messages_rejected_total, tickfan_gateway_messages_rejected_total',
      seen: () => refusalsIn(tally, (outcome) => outcome.startsWith('rejected:')),
      counted: () => new Map([...lines.rejected].map(([reason, n]) => [`rejected:${reason}`, n])),
    };

    return {
      property,
      refusals,
      async close() {
        lines.close();
        publisher.close();
        dir.cleanup();
      },
    };
  },
};

// ---------------------------------------------------------------- ingest records

const INGEST_MAX_RECORD_BYTES = 4096;

/** Messages as a program may push them: near-valid records, any topic and payload, any frames (at least one: ZeroMQ sends no empty message). */
const ingestFrames: fc.Arbitrary<Buffer[]> = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(nearValidTick, nearValidStatus).map((m) => [Buffer.from(m.topic), Buffer.from(JSON.stringify(m.record))]) },
  { weight: 4, arbitrary: fc.tuple(topicFrame, payloadLike).map((f) => [...f]) },
  { weight: 1, arbitrary: fc.array(bytes(32), { minLength: 1, maxLength: 4 }) },
);

/** A valid record pushed after each input: once it is delivered, the input before it has been dealt with. */
const PROBE_VENUE = 'FUZZPROBE';
const PROBE = [Buffer.from(`tick.${PROBE_VENUE}.X`), Buffer.from(JSON.stringify({ venue: PROBE_VENUE, symbol: 'X', bid: 1 }))];

/**
 * The ingest edge as the feed role runs it: an IngestAdapter under an AdapterSupervisor, whose
 * per-reason counts are tickfan_feed_adapter_rejected_total{feed="ingest"}, fed over a PUSH socket.
 * Each input is also decoded by decodePush here, which names the outcome; the adapter must then
 * deliver exactly the inputs decodePush accepts, and count the others under the same reasons.
 */
const ingestRecords: Surface = {
  name: 'ingest-records',
  ciRuns: 1000,
  async open(tally) {
    const dir = ipcDir();
    const endpoint = dir.endpoint('ingest');
    const adapter = new IngestAdapter({ endpoint, subEndpoint: '', maxRecordBytes: INGEST_MAX_RECORD_BYTES, receiveHwm: 1000 });
    const delivered: TickRecord[] = [];
    let probeArrived: (() => void) | undefined;
    const deliver: Deliver = (_kind, record) => {
      if (record.venue === PROBE_VENUE) probeArrived?.();
      else delivered.push(record as TickRecord);
      return undefined;
    };
    const status = new VenueStatus({ staleAfterMs: 60_000, repeatMs: 60_000 }, () => {});
    const supervisor = new AdapterSupervisor(adapter, { backoff: { minDelayMs: 60_000, maxDelayMs: 60_000, jitter: 0 }, stallMs: 0 }, deliver, status, createLogger('silent'));
    await supervisor.start();
    const push = new Push({ linger: 0, sendTimeout: ANSWER_MS });
    push.connect(endpoint);

    const property = fc.asyncProperty(ingestFrames, async (frames) => {
      let expected: string;
      try {
        decodePush(frames, INGEST_MAX_RECORD_BYTES);
        expected = 'accepted';
      } catch (err) {
        expected = expect(err, (e) =>
          wireReject(e) ?? (e instanceof Error && e.name === 'IngestReject' ? `rejected:${(e as Error & { reason: string }).reason}` : undefined));
      }
      const probed = new Promise<void>((resolve) => (probeArrived = resolve));
      await push.send(frames);
      await push.send(PROBE);
      await withTimeout(probed, ANSWER_MS, `the ingest edge to deal with ${frames.length} frames`);
      const outcome = delivered.length > 0 ? 'accepted' : 'refused';
      delivered.splice(0);
      if ((outcome === 'accepted') !== (expected === 'accepted')) throw new Error(`decodePush: ${expected}, but the ingest edge ${outcome} it`);
      const { restarts } = supervisor.state();
      if (restarts > 0) throw new Error(`the ingest adapter crashed and was restarted (${restarts})`);
      count(tally, expected);
    });

    const refusals: Refusals = {
      metrics: 'tickfan_feed_adapter_rejected_total{feed="ingest"}',
      seen: () => refusalsIn(tally, (outcome) => outcome.startsWith('rejected:')),
      counted: () => new Map(Object.entries(supervisor.state().rejected).map(([reason, n]) => [`rejected:${reason}`, n])),
    };

    return {
      property,
      refusals,
      async close() {
        push.close();
        await supervisor.stop();
        dir.cleanup();
      },
    };
  },
};

// ---------------------------------------------------------------- replay files

/** A record field as a CSV cell; a broken field may be any JSON (objects without a prototype among them, which String() refuses). */
const csvCell = (value: unknown): string => (value === undefined ? '' : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value));

/** Lines of both recording formats: NDJSON of `tickfan record`, CSV rows, and garbage. */
const replayLine: fc.Arbitrary<{ format: 'ndjson' | 'csv'; line: string }> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.tuple(nearValidTick, fc.oneof(fc.nat(), anyJson)).map(([m, ts]) => ({ format: 'ndjson' as const, line: JSON.stringify({ topic: m.topic, epoch: 1, seq: 1, ts, record: m.record }) })),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(nearValidTick, fc.oneof(fc.nat().map(String), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string({ maxLength: 8 })))
      .map(([m, ts]) => ({ format: 'csv' as const, line: [ts, ...['venue', 'symbol', 'bid', 'bidSize', 'ask', 'askSize', 'last', 'lastSize', 'volume'].map((f) => csvCell(m.record[f]))].join(',') })),
  },
  {
    weight: 2,
    arbitrary: fc.record({ topic: anyJson, epoch: anyJson, seq: anyJson, ts: fc.oneof(fc.nat(), anyJson), record: recordLike }, { requiredKeys: [] })
      .map((v) => ({ format: 'ndjson' as const, line: JSON.stringify(v) })),
  },
  {
    weight: 2,
    arbitrary: fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.double().map(String), fc.nat().map(String), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constant('')), { minLength: 8, maxLength: 11 })
      .map((cells) => ({ format: 'csv' as const, line: cells.join(',') })),
  },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('ndjson' as const, 'csv' as const), fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), deepJson, hugeJson)).map(([format, line]) => ({ format, line })) },
);

function isRefusal(err: unknown): boolean {
  if (!(err instanceof Error) || err.message === '') return false;
  return err.constructor === Error || (err.constructor === RangeError && !err.message.includes('call stack'));
}

const replayFiles = pure('replay-lines', 1000, replayLine, ({ format, line }) => {
  try {
    if (format === 'csv' && isCsvHeader(line)) return 'header';
    (format === 'csv' ? parseCsvLine : parseRecordedLine)(line);
    return `accepted:${format}`;
  } catch (err) {
    // The parsers refuse with an Error naming the problem: their own, the record check's WireError, or
    // the RangeError of the decimal and time parsing; a stack overflow or a TypeError is a bug.
    return expect(err, (e) => wireReject(e) ?? (isRefusal(e) ? `rejected:${format}` : undefined));
  }
});

// ---------------------------------------------------------------- configuration from the environment

const SETTINGS = settingKeys(schema);

/** A TICKFAN_* environment: real variables with random or plausible values, sometimes an unknown name. */
const tickfanEnv: fc.Arbitrary<Record<string, string>> = fc
  .array(
    fc.tuple(
      fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...SETTINGS.map((s) => s.env)) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }).map((s) => `TICKFAN_${s.toUpperCase()}`) }),
      fc.oneof(
        fc.constantFrom('', '0', '-1', '1', 'true', 'false', '65536', 'tcp://127.0.0.1:5555', 'ipc:///tmp/x', '[]', '{}', 'null', 'none', 'hs256', 'proxy,gateway', 'feed', '1e400', 'NaN'),
        fc.string({ maxLength: 20 }),
        fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? ''),
      ),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => Object.fromEntries(pairs.filter(([name]) => !name.includes('\0'))));

/** Words a ConfigError may use to name a key: its dotted path or its variable. */
const KEY_NAMES = SETTINGS.flatMap((s) => [s.key, s.env]);

const configEnv = pure('config-env', 200, tickfanEnv, (env) => {
  try {
    loadConfig({ env });
    return 'accepted';
  } catch (err) {
    // A variable that is no setting is named as given; a bad value by its key or variable.
    const names = [...KEY_NAMES, ...Object.keys(env)];
    return expect(err, (e) => (e instanceof ConfigError && names.some((name) => e.message.includes(name)) ? 'rejected' : undefined));
  }
});

// ---------------------------------------------------------------- JWTs

const JWT_SECRET = 'fuzz-secret-at-least-32-bytes-long!!';

/** Tokens: valid ones with random claims, valid ones mangled, and random strings shaped like JWTs. */
function jwtInput(key: Uint8Array): fc.Arbitrary<Promise<string>> {
  const claims = fc.record({ topics: fc.oneof(fc.array(validPattern, { maxLength: 3 }), fc.array(topicLike, { maxLength: 4 }), anyJson), exp: fc.oneof(fc.integer({ min: 0, max: 2 ** 33 }), anyJson), extra: anyJson }, { requiredKeys: [] });
  const signed = claims.map((c) => new SignJWT(c as Record<string, unknown>).setProtectedHeader({ alg: 'HS256' }).sign(key));
  const mangle = fc.tuple(fc.nat(), fc.string({ unit: 'binary', maxLength: 3 }), fc.constantFrom('replace', 'cut', 'swapAlg', 'dropSig'));
  const segment = fc.oneof(fc.base64String({ maxLength: 60 }).map((s) => s.replace(/=/g, '')), fc.string({ maxLength: 20 }), anyJson.map((v) => Buffer.from(JSON.stringify(v) ?? '').toString('base64url')));
  return fc.oneof(
    { weight: 2, arbitrary: signed },
    {
      weight: 3,
      arbitrary: fc.tuple(signed, mangle).map(async ([token, [at, text, how]]) => {
        const t = await token;
        const [header, payload] = t.split('.');
        if (how === 'swapAlg') return `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
        if (how === 'dropSig') return `${header}.${payload}.`;
        const cut = at % t.length;
        return how === 'cut' ? t.slice(0, cut) : t.slice(0, cut) + text + t.slice(cut + text.length);
      }),
    },
    { weight: 2, arbitrary: fc.array(segment, { minLength: 1, maxLength: 4 }).map(async (parts) => parts.join('.')) },
    { weight: 1, arbitrary: fc.oneof(fc.string({ unit: 'binary', maxLength: 100 }), hugeJson).map(async (s) => s) },
  );
}

const jwts: Surface = {
  name: 'jwt',
  ciRuns: 500,
  async open(tally) {
    const authenticator = new Authenticator({ mode: 'hs256', key: JWT_SECRET, jwksFile: '' });
    const property = fc.asyncProperty(jwtInput(new TextEncoder().encode(JWT_SECRET)), async (token) => {
      try {
        await withTimeout(authenticator.verify(await token), ANSWER_MS, 'a token to be verified');
        count(tally, 'accepted');
      } catch (err) {
        count(tally, expect(err, (e) => (e instanceof AuthError ? `rejected:${e.closeCode}` : undefined)));
      }
    });
    return { property, close: async () => {} };
  },
};

export const SURFACES: readonly Surface[] = [wsParser, wsGateway, snapshotRequests, dataMessage, ingestRecords, replayFiles, configEnv, jwts];

export interface SurfaceRun {
  readonly name: string;
  readonly runs: number;
  readonly tally: Tally;
  /** The refusals the role counted, and in which metrics; undefined for a surface whose path counts none. */
  readonly counted: { readonly metrics: string; readonly refusals: number } | undefined;
  /** fast-check's report of the shrunk counterexample, when one failed. */
  readonly failure: string | undefined;
  readonly ms: number;
}

/**
 * Checks an open surface's property `runs` times from `seed`, then that the role counted every
 * refusal of the batch; fast-check's report of the shrunk counterexample when an input fails, or
 * what went uncounted.
 */
export async function checkSurface(open: OpenSurface, runs: number, seed: number): Promise<string | undefined> {
  const before = open.refusals && { seen: open.refusals.seen(), counted: open.refusals.counted() };
  let details: fc.RunDetails<unknown>;
  try {
    details = await fc.check(open.property, { numRuns: runs, seed });
  } catch (err) {
    // fast-check lets an input generator's own exception through: a bug of the surface, reported like a failure.
    return `seed ${seed}: generating an input failed: ${(err as Error).stack}`;
  }
  if (details.failed) return `${fc.defaultReportMessage(details) ?? 'failed'}\nError: ${String((details.errorInstance as Error | undefined)?.stack ?? details.errorInstance)}`;
  return open.refusals && before && (await uncounted(open.refusals, before));
}

/** How long the role's counters may lag what the client saw (a close is counted once the server's socket has closed). */
const COUNTED_WITHIN_MS = ANSWER_MS;

/**
 * Undefined once the role's counters have risen, kind by kind, by exactly the refusals seen since
 * `before`; what differs when they have not within COUNTED_WITHIN_MS.
 */
async function uncounted(refusals: Refusals, before: { seen: Tally; counted: Tally }): Promise<string | undefined> {
  const deadline = performance.now() + COUNTED_WITHIN_MS;
  for (;;) {
    const seen = since(refusals.seen(), before.seen);
    const counted = since(refusals.counted(), before.counted);
    const differing = [...new Set([...seen.keys(), ...counted.keys()])].filter((kind) => (seen.get(kind) ?? 0) !== (counted.get(kind) ?? 0));
    if (differing.length === 0) return undefined;
    // The counters lag only by what is still in flight: asked again until nothing is, or time is up.
    if (performance.now() > deadline) {
      return `refusals not counted one for one by ${refusals.metrics}: ${differing.sort().map((kind) => `${kind} seen ${seen.get(kind) ?? 0}, counted ${counted.get(kind) ?? 0}`).join('; ')}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What each kind rose by from `before` to `now`. */
function since(now: Tally, before: Tally): Tally {
  return new Map([...now].map(([kind, n]) => [kind, n - (before.get(kind) ?? 0)] as [string, number]).filter(([, n]) => n !== 0));
}

/** Inputs run so far: every outcome tallied. */
export const inputsRun = (tally: Tally): number => [...tally.values()].reduce((a, b) => a + b, 0);

/** Runs one surface `runs` times from `seed`: opens it, checks the property, closes it. */
export async function runSurface(surface: Surface, runs: number, seed: number): Promise<SurfaceRun> {
  const started = performance.now();
  const tally: Tally = new Map();
  const open = await surface.open(tally);
  let failure: string | undefined;
  try {
    failure = await checkSurface(open, runs, seed);
  } finally {
    try {
      await open.close();
    } catch (err) {
      failure ??= `after the runs: ${(err as Error).message}`;
    }
  }
  const counted = open.refusals && { metrics: open.refusals.metrics, refusals: inputsRun(open.refusals.counted()) };
  return { name: surface.name, runs: inputsRun(tally), tally, counted, failure, ms: performance.now() - started };
}

/** `outcome N, ...` in the order of the outcomes' names. */
export function describeTally(tally: Tally): string {
  return [...tally].sort(([a], [b]) => a.localeCompare(b)).map(([outcome, n]) => `${outcome} ${n}`).join(', ');
}

/** `name: N runs (outcome N, ...) in T s; N refusals, each counted in METRICS` */
export function describeRun(run: SurfaceRun): string {
  const counted = run.counted === undefined ? '' : `; ${run.counted.refusals} refusals, each counted in ${run.counted.metrics}`;
  return `${run.name}: ${run.runs} runs (${describeTally(run.tally)}) in ${(run.ms / 1000).toFixed(1)} s${counted}`;
}
