/** One point of the ladder: start the processes of a configuration, measure one rate, stop them all. */
import { nowMicros } from '../../src/wire/index.js';
import { machineCpuPercent } from './machine.js';
import type { CpuReport, PublisherReport, SubscriberReport, Window } from './messages.js';
import { Child, type Program } from './spawn.js';

export const CONFIGS = ['direct', 'native', 'js'] as const;
export type Config = (typeof CONFIGS)[number];

export interface PointSettings {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly graceMs: number;
  readonly hwm: number;
  readonly topics: number;
}

export interface PointResult {
  readonly config: Config;
  /** The rate asked of the publisher. */
  readonly rate: number;
  readonly seconds: number;
  /** Which try of this point it was (see --attempts). */
  readonly attempt: number;
  readonly publisher?: PublisherReport;
  readonly proxy?: CpuReport;
  readonly subscriber?: SubscriberReport;
  /** The whole machine's CPU use over the window, % of one core: ours plus anything else running. */
  readonly machineCpuPercent?: number;
  readonly error?: string;
}

const LOOPBACK_ANY_PORT = 'tcp://127.0.0.1:*';
/** Starting a child includes tsx compiling it; generous, since the machine may be busy. */
const STARTUP_MS = 30_000;
const SUBSCRIPTION_MS = 10_000;
/** Beyond the window and grace, how long the parent waits for the reports. */
const REPORT_SLACK_MS = 10_000;
const STOP_MS = 3_000;

export async function runPoint(config: Config, rate: number, settings: PointSettings, attempt = 1): Promise<PointResult> {
  const children: Child<unknown>[] = [];
  const start = <R>(program: Program, options: object): Child<R> => {
    const child = new Child<R>(program, options);
    children.push(child as Child<unknown>);
    return child;
  };
  try {
    let proxy: Child<CpuReport> | undefined;
    let proxyEndpoints: readonly string[] = [];
    if (config !== 'direct') {
      proxy = start<CpuReport>('proxy', { mode: config, hwm: settings.hwm });
      proxyEndpoints = (await proxy.next('ready', STARTUP_MS)).endpoints;
    }
    const [frontend, backend] = proxyEndpoints;
    const publisher = start<PublisherReport>('publisher', {
      ...(frontend === undefined ? { bind: LOOPBACK_ANY_PORT } : { connect: frontend }),
      sendHwm: settings.hwm,
      topics: settings.topics,
    });
    const [published] = (await publisher.next('ready', STARTUP_MS)).endpoints;
    const subscriber = start<SubscriberReport>('subscriber', { connect: backend ?? published, receiveHwm: settings.hwm });
    await subscriber.next('ready', STARTUP_MS);
    await publisher.next('subscribed', SUBSCRIPTION_MS);

    const window = windowAfter(settings.warmupSeconds, settings.seconds);
    // Everyone else learns the window before the publisher may send its first message.
    for (const child of [subscriber, proxy]) child?.send({ type: 'window', window, graceMicros: settings.graceMs * 1000 });
    publisher.send({ type: 'run', window, rate });

    const reportMs = (window.endMicros - nowMicros()) / 1000 + settings.graceMs + REPORT_SLACK_MS;
    const [pub, sub, prox, machine] = await Promise.all([
      publisher.next('result', reportMs),
      subscriber.next('result', reportMs),
      proxy?.next('result', reportMs),
      machineCpuPercent(window),
    ]);
    return {
      config, rate, seconds: settings.seconds, attempt, publisher: pub.report, subscriber: sub.report,
      ...(prox && { proxy: prox.report }), machineCpuPercent: machine,
    };
  } catch (err) {
    return { config, rate, seconds: settings.seconds, attempt, error: (err as Error).message };
  } finally {
    await Promise.all(children.map((child) => child.stop(STOP_MS)));
  }
}

function windowAfter(warmupSeconds: number, seconds: number): Window {
  const startMicros = nowMicros() + Math.round(warmupSeconds * 1e6);
  return { startMicros, endMicros: startMicros + Math.round(seconds * 1e6) };
}
