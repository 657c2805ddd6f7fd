/**
 * The load side's raw NATS client over WebSocket: CONNECT, a SUB per subject, then MSGs parsed
 * from the stream of binary frames (nats-protocol.ts); the PONG to its first PING says the
 * server has the SUBs. Answers the server's PINGs, as a client must to stay connected. Like
 * the tickfan client it reads every event's ts (latency from the frame's arrival) and fully
 * checks a sample (sample-check.ts).
 */
import { nowMicros } from '../../src/wire/index.js';
import { natsSubjectOf } from './instruments.js';
import { NatsParser, subscribeLines } from './nats-protocol.js';
import { RawWebSocket } from './raw-client.js';
import { SampleCheck, type CheckTally } from './sample-check.js';
import { eventTs } from './scan.js';

export interface NatsClientEvents {
  /** One event, arrived at `arrived` and stamped `ts` at its source (µs). */
  event(arrived: number, ts: number): void;
  /** The server has every SUB. */
  subscribed(): void;
  /** The connection failed or the server broke the protocol; after subscribed() the socket closes next. */
  failed(err: Error): void;
}

export class NatsClient {
  closed = false;
  private readonly sample: SampleCheck;
  private readonly parser: NatsParser;
  private readonly ws: RawWebSocket;
  /** When the frame being parsed arrived. */
  private arrived = 0;

  constructor(url: string, subjects: readonly string[], private readonly tally: CheckTally, private readonly events: NatsClientEvents) {
    this.sample = new SampleCheck(tally);
    this.parser = new NatsParser({
      msg: (data, subjectStart, subjectEnd, payloadStart, payloadEnd) => this.msg(data, subjectStart, subjectEnd, payloadStart, payloadEnd),
      ping: () => this.ws.send('PONG\r\n'),
      pong: () => events.subscribed(),
      info: () => undefined,
      // The server closes the connection next (a slow consumer, say).
      error: (message) => events.failed(new Error(`nats-server answered -ERR ${message}`)),
    });
    const chunk = (data: Buffer, start: number, end: number): void => {
      this.arrived = nowMicros();
      try {
        this.parser.push(data, start, end);
      } catch (err) {
        events.failed(err as Error);
        this.ws.terminate();
      }
    };
    this.ws = new RawWebSocket(url, {
      message: chunk,
      binary: chunk,
      error: (err) => events.failed(err),
      close: (code) => {
        this.closed = true;
        events.failed(new Error(`a NATS client closed${code === undefined ? '' : ` with ${code}`}`));
      },
    }, () => this.ws.send(subscribeLines(subjects)));
  }

  terminate(): void {
    this.ws.terminate();
  }

  private msg(data: Buffer, subjectStart: number, subjectEnd: number, payloadStart: number, payloadEnd: number): void {
    const ts = eventTs(data, payloadStart, payloadEnd);
    if (ts < 0) this.tally.fail(`a NATS message without ts: ${data.toString('utf8', payloadStart, Math.min(payloadEnd, payloadStart + 120))}`);
    else this.events.event(this.arrived, ts);
    if (this.sample.due()) this.sample.message(data.toString('utf8', payloadStart, payloadEnd), data.toString('latin1', subjectStart, subjectEnd), natsSubjectOf);
  }
}
