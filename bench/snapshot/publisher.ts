/**
 * Child program: the owning source of N topics, publishing through the proxy frontend at a
 * paced rate. Topic 0 is kept out of the live flow: the parent fills its history for REPLAY
 * and sends a marker on it after a flow, whose arrival in the store shows that everything
 * published before it has been ingested (one publisher, one path: ZeroMQ keeps the order).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { XPublisher } from 'zeromq';
import { nowMicros } from '../../src/wire/index.js';
import { serve } from '../common/child.js';
import { CpuMeter } from '../common/clock.js';
import { Pacer, sendPaced } from '../common/paced.js';
import { BenchTopics } from './ticks.js';

export interface FlowReport {
  /** Messages handed to the socket (an XPUB drops beyond its HWM without telling: those show up as gaps). */
  readonly sent: number;
  readonly seconds: number;
  readonly stalls: number;
  /** This process's CPU over the flow, % of one core. */
  readonly cpuPercent: number;
}

interface Flow {
  readonly control: { stop: boolean };
  readonly done: Promise<FlowReport>;
}

let socket: XPublisher | undefined;
let topics: BenchTopics | undefined;
let flow: Flow | undefined;

function ready(): { socket: XPublisher; topics: BenchTopics } {
  if (socket === undefined || topics === undefined) throw new Error('call start and topics first');
  if (flow !== undefined) throw new Error('a flow is running: stop it first');
  return { socket, topics };
}

/** Sends `next()` at `rate` per second until `total` are sent or `stop()` says so. */
async function paced(target: XPublisher, rate: number, total: number, stop: () => boolean, next: () => Buffer[]): Promise<Omit<FlowReport, 'cpuPercent'>> {
  const pacer = new Pacer(rate);
  const started = performance.now();
  let taken = 0;
  const sent = await sendPaced(target, pacer, () => {
    if (taken >= total || stop()) return undefined;
    taken++;
    return next();
  });
  return { sent, seconds: (performance.now() - started) / 1000, stalls: pacer.stalls };
}

const methods = {
  /** Connects to the proxy frontend and waits (bounded) for the first downstream subscription. */
  async start(params: { frontend: string; sendHwm: number; waitMs: number }): Promise<{ subscribed: boolean }> {
    socket = new XPublisher({ sendHighWaterMark: params.sendHwm, linger: 0 });
    socket.connect(params.frontend);
    const subscribed = await Promise.race([socket.receive().then(() => true, () => false), sleep(params.waitMs, false)]);
    return { subscribed };
  },

  /** A fresh set of topics with a new epoch. */
  async topics(params: { count: number }): Promise<{ epoch: number }> {
    if (flow !== undefined) throw new Error('a flow is running: stop it first');
    if (params.count < 2) throw new Error('at least 2 topics: topic 0 is kept out of the flow');
    topics = new BenchTopics(params.count);
    return { epoch: topics.epoch };
  },

  /** One message on every topic, paced. */
  async fill(params: { rate: number }): Promise<{ sent: number }> {
    const { socket: target, topics: set } = ready();
    let index = 0;
    const { sent } = await paced(target, params.rate, set.size, () => false, () => set.message(index++, nowMicros()));
    return { sent };
  },

  /** `count` messages on topic 0, paced; resolves with its newest seq. */
  async hot(params: { count: number; rate: number }): Promise<{ seq: number }> {
    const { socket: target, topics: set } = ready();
    await paced(target, params.rate, params.count, () => false, () => set.message(0, nowMicros()));
    return { seq: set.seqs()[0]! };
  },

  /** Starts publishing round-robin over topics 1..N-1 at `rate` for at most durationMs; returns at once. */
  async flowStart(params: { rate: number; durationMs: number }): Promise<void> {
    const { socket: target, topics: set } = ready();
    const deadline = performance.now() + params.durationMs;
    let index = 0;
    const next = (): Buffer[] => {
      index = index + 1 >= set.size ? 1 : index + 1;
      return set.message(index, nowMicros());
    };
    const cpu = new CpuMeter();
    const control = { stop: false };
    flow = {
      control,
      done: paced(target, params.rate, Number.MAX_SAFE_INTEGER, () => control.stop || performance.now() >= deadline, next)
        .then((report) => ({ ...report, cpuPercent: cpu.percent() })),
    };
  },

  /** Ends the flow (or, with wait, lets it run to its duration) and reports it. */
  async flowStop(params: { wait: boolean }): Promise<FlowReport> {
    const running = flow;
    if (running === undefined) throw new Error('no flow is running');
    if (!params.wait) running.control.stop = true;
    try {
      return await running.done;
    } finally {
      flow = undefined;
    }
  },

  /** One message on topic 0, after everything sent before it. */
  async marker(): Promise<{ seq: number }> {
    const { socket: target, topics: set } = ready();
    await target.send(set.message(0, nowMicros()));
    return { seq: set.seqs()[0]! };
  },

  /** The newest seq of every topic, by topic index. */
  async seqs(): Promise<{ epoch: number; seqs: number[] }> {
    const { topics: set } = ready();
    return { epoch: set.epoch, seqs: set.seqs() };
  },
};

export type PublisherMethods = typeof methods;

serve(methods, () => {
  if (flow !== undefined) flow.control.stop = true;
  socket?.close();
});
