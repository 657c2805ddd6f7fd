/**
 * Child program: the source of both lines. One XPUB per line, bound on loopback; each message
 * (encoded once) goes to every line, except where that line loses it, and late by the line's lag.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { XPublisher } from 'zeromq';
import { nowMicros } from '../../src/wire/index.js';
import { serve } from '../common/child.js';
import { cpuOverWindow, type CpuReport, type Window } from '../common/clock.js';
import { Pacer } from '../common/paced.js';
import { BENCH_SOCKETS } from '../common/sockets.js';
import { SkewedTopics, seededRandom } from './topics.js';

const LOOPBACK_ANY_PORT = 'tcp://127.0.0.1:*';
/** Pacing granularity, and so the granularity of a line's lag. */
const TICK_MS = 1;

/** What happens to the messages on one line. */
export interface LineFault {
  /** Share of messages (0..1) this line alone loses. */
  readonly loss: number;
  /** How long this line carries each message after the first line could. */
  readonly lagMs: number;
}

export interface RunParams {
  readonly window: Window;
  readonly rate: number;
  /** One per line started. */
  readonly lines: readonly LineFault[];
  /** Share of messages (0..1) lost on every line: a real loss, which only a repair brings back. */
  readonly commonLoss: number;
}

export interface SourceReport extends CpuReport {
  /** Messages stamped with a ts inside the window (a seq each), whether a line carried them or not. */
  readonly sent: number;
  /** Of those, lost on every line. */
  readonly lostEverywhere: number;
  /** Of those, lost per line (the common losses included). */
  readonly lostPerLine: readonly number[];
  /** Times the publisher fell more than 50 ms behind its schedule and gave up the backlog. */
  readonly stalls: number;
}

interface Line {
  readonly socket: XPublisher;
  /** Messages not yet due on a line with lag, oldest first; at most lag x rate of them. */
  readonly delayed: { readonly dueMs: number; readonly frames: Buffer[] }[];
}

interface Started {
  readonly lines: readonly Line[];
  readonly topics: SkewedTopics;
  readonly rng: RandomGenerator;
}

let started: Started | undefined;

function current(): Started {
  if (started === undefined) throw new Error('call start first');
  return started;
}

const methods = {
  /** Binds one XPUB per line; a fresh run of the topics (new epoch, seqs from 1) each time. */
  async start(params: { lines: number; sendHwm: number; topics: number; skew: number; seed: number }): Promise<{ endpoints: string[]; busiestShare: number }> {
    if (started !== undefined) throw new Error('the source is already started');
    const lines: Line[] = [];
    for (let i = 0; i < params.lines; i++) {
      const socket = new XPublisher({ ...BENCH_SOCKETS, sendHighWaterMark: params.sendHwm });
      lines.push({ socket, delayed: [] });
      await socket.bind(LOOPBACK_ANY_PORT);
    }
    const rng = seededRandom(params.seed);
    const topics = new SkewedTopics(params.topics, params.skew, rng);
    started = { lines, topics, rng };
    return { endpoints: lines.map((line) => line.socket.lastEndpoint!), busiestShare: topics.busiestShare };
  },

  /** Resolves once every line has a subscriber. (The parent bounds the wait.) */
  async subscribed(): Promise<void> {
    await Promise.all(current().lines.map((line) => line.socket.receive()));
  },

  /** Publishes from now until the window ends, then sends what the lagging lines still hold. */
  async run(params: RunParams): Promise<SourceReport> {
    const source = current();
    if (params.lines.length !== source.lines.length) throw new Error(`${source.lines.length} lines started, faults given for ${params.lines.length}`);
    const [published, cpu] = await Promise.all([publish(source, params), cpuOverWindow(params.window)]);
    return { ...published, ...cpu };
  },

  async stop(): Promise<void> {
    closeLines();
  },
};

export type SourceMethods = typeof methods;

async function publish({ lines, topics, rng }: Started, params: RunParams): Promise<Omit<SourceReport, 'cpuPercent'>> {
  const pacer = new Pacer(params.rate);
  const lostPerLine = lines.map(() => 0);
  let sent = 0;
  let lostEverywhere = 0;
  for (let ended = false; !ended || lines.some((line) => line.delayed.length > 0);) {
    // What a lagging line owes goes out before anything newer, so its lag stays close to the set one.
    await sendDue(lines);
    const due = ended ? 0 : pacer.due();
    for (let i = 0; i < due; i++) {
      const ts = nowMicros();
      if (ts >= params.window.endMicros) {
        ended = true;
        break;
      }
      const measured = ts >= params.window.startMicros;
      const frames = topics.message(ts);
      const lostOnAll = uniformFloat64(rng) < params.commonLoss;
      if (measured) {
        sent++;
        if (lostOnAll) lostEverywhere++;
      }
      const nowMs = performance.now();
      for (let l = 0; l < lines.length; l++) {
        const fault = params.lines[l]!;
        // Drawn on every line and message alike, so one line's setting does not shift another's losses.
        const lostHere = uniformFloat64(rng) < fault.loss || lostOnAll;
        if (lostHere) {
          if (measured) lostPerLine[l]!++;
          continue;
        }
        if (fault.lagMs > 0) lines[l]!.delayed.push({ dueMs: nowMs + fault.lagMs, frames });
        else await lines[l]!.socket.send(frames);
      }
    }
    pacer.count(due);
    await sleep(TICK_MS);
  }
  return { sent, lostEverywhere, lostPerLine, stalls: pacer.stalls };
}

async function sendDue(lines: readonly Line[]): Promise<void> {
  const nowMs = performance.now();
  for (const { socket, delayed } of lines) {
    let sent = 0;
    while (sent < delayed.length && delayed[sent]!.dueMs <= nowMs) await socket.send(delayed[sent++]!.frames);
    delayed.splice(0, sent);
  }
}

function closeLines(): void {
  for (const line of started?.lines ?? []) line.socket.close();
  started = undefined;
}

serve(methods, closeLines);
