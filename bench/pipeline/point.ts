/** One point of the ladder: start the processes of a configuration, measure one rate, stop them all. */
import { nowMicros } from '../../src/wire/index.js';
import { windowAfter, type CpuReport } from '../common/clock.js';
import { machineCpuPercent } from '../common/machine.js';
import type { ProxyMethods } from '../common/proxy.js';
import { Child } from '../common/spawn.js';
import type { BenchKeys, CurveRole } from './keys.js';
import type { PublisherMethods, PublisherReport } from './publisher.js';
import type { SubscriberMethods, SubscriberReport } from './subscriber.js';

/** The route of the messages: straight from publisher to subscriber, or through a proxy in one of its modes. */
export const ROUTES = ['direct', 'native', 'js'] as const;
export type Route = (typeof ROUTES)[number];

/**
 * Each route in the clear and with CurveZMQ on every hop (`X+curve`), the two side by side: the
 * default run measures them one after the other at each rung, so the load of the moment hits
 * both of a pair alike.
 */
export const CONFIGS = ROUTES.flatMap((route) => [route, `${route}+curve`] as const);
export type Config = (typeof CONFIGS)[number];

const CURVE_SUFFIX = '+curve';

export function routeOf(config: Config): Route {
  return (config.endsWith(CURVE_SUFFIX) ? config.slice(0, -CURVE_SUFFIX.length) : config) as Route;
}

export function usesCurve(config: Config): boolean {
  return config.endsWith(CURVE_SUFFIX);
}

/** The configuration with the same route and the other security: X for X+curve and the reverse. */
export function counterpartOf(config: Config): Config {
  return usesCurve(config) ? routeOf(config) : `${routeOf(config)}${CURVE_SUFFIX}`;
}

/** What a proxied configuration is compared with: the direct route with the same security. */
export function baselineOf(config: Config): Config {
  return usesCurve(config) ? `direct${CURVE_SUFFIX}` : 'direct';
}

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
const CALL_MS = 10_000;
const SUBSCRIPTION_MS = 10_000;
/** Beyond the window and grace, how long the parent waits for the reports. */
const REPORT_SLACK_MS = 10_000;
const STOP_MS = 3_000;

/**
 * Measures one rate of a configuration. A `+curve` one needs `keys`: every socket then does
 * what the real roles do (servers bound through FabricSecurity behind the process's ZAP
 * handler, clients with their own certificate), and the point fails unless the connecting
 * sockets really are CURVE clients.
 */
export async function runPoint(config: Config, rate: number, settings: PointSettings, attempt = 1, keys?: BenchKeys): Promise<PointResult> {
  if (usesCurve(config) && keys === undefined) return { config, rate, seconds: settings.seconds, attempt, error: `${config} needs the benchmark's certificates` };
  const curve = (role: CurveRole) => (usesCurve(config) ? { curve: keys!.settings(role) } : {});
  const route = routeOf(config);
  const proxy = route === 'direct'
    ? undefined
    : { mode: route, child: new Child<ProxyMethods>(new URL('../common/proxy.ts', import.meta.url), 'proxy') };
  const publisher = new Child<PublisherMethods>(new URL('./publisher.ts', import.meta.url), 'publisher');
  const subscriber = new Child<SubscriberMethods>(new URL('./subscriber.ts', import.meta.url), 'subscriber');
  const children = [proxy?.child, publisher, subscriber].filter((child) => child !== undefined);
  try {
    // Started together: each spends its first second or so compiling.
    await Promise.all(children.map((child) => child.started()));
    const proxied = await proxy?.child.call('start', { mode: proxy.mode, hwm: settings.hwm, ...curve('proxy') }, CALL_MS);
    const { endpoint: published, mechanism: publisherMechanism } = await publisher.call('start', {
      ...(proxied === undefined ? { bind: LOOPBACK_ANY_PORT } : { connect: proxied.frontend }),
      sendHwm: settings.hwm,
      topics: settings.topics,
      ...curve('publisher'),
    }, CALL_MS);
    const { mechanism: subscriberMechanism } = await subscriber.call('start', { connect: proxied?.backend ?? published, receiveHwm: settings.hwm, ...curve('subscriber') }, CALL_MS);
    // A CURVE client gets no handshake from a plain server, so messages arriving below prove every hop encrypted.
    expectMechanism(config, { publisher: publisherMechanism, subscriber: subscriberMechanism });
    await publisher.call('subscribed', undefined, SUBSCRIPTION_MS);

    const window = windowAfter(settings.warmupSeconds, settings.seconds);
    const reportMs = (window.endMicros - nowMicros()) / 1000 + settings.graceMs + REPORT_SLACK_MS;
    // Everyone else learns the window before the publisher may send its first message.
    const sub = subscriber.call('measure', { window, graceMicros: settings.graceMs * 1000 }, reportMs);
    const prox = proxy?.child.call('measure', { window }, reportMs);
    const pub = publisher.call('run', { window, rate }, reportMs);
    const [pubReport, subReport, proxReport, machine] = await Promise.all([pub, sub, prox, machineCpuPercent(window)]);
    return {
      config, rate, seconds: settings.seconds, attempt, publisher: pubReport, subscriber: subReport,
      ...(proxReport && { proxy: proxReport }), machineCpuPercent: machine,
    };
  } catch (err) {
    return { config, rate, seconds: settings.seconds, attempt, error: (err as Error).message };
  } finally {
    await Promise.all(children.map((child) => child.stop(STOP_MS)));
  }
}

function expectMechanism(config: Config, mechanisms: Record<'publisher' | 'subscriber', string | null>): void {
  const expected = usesCurve(config) ? 'curve' : null;
  for (const [who, mechanism] of Object.entries(mechanisms)) {
    if (mechanism !== expected) throw new Error(`${config}: the ${who}'s socket has security mechanism ${mechanism ?? 'none'}, expected ${expected ?? 'none'}`);
  }
}
