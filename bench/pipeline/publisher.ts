/**
 * Child program: publishes TickSource messages at a paced rate on an XPUB socket. XPUB
 * rather than PUB so it can see the first subscription arrive: a PUB drops everything sent
 * before then (ZeroMQ's slow joiner), which would show up as lost messages.
 */
import { XPublisher } from 'zeromq';
import { FabricSecurity, type CurveSettings } from '../../src/curve/index.js';
import { createLogger } from '../../src/log/index.js';
import { nowMicros } from '../../src/wire/index.js';
import { serve } from '../common/child.js';
import { cpuOverWindow, type CpuReport, type Window } from '../common/clock.js';
import { Pacer, sendPaced } from '../common/paced.js';
import { TickSource } from './ticks.js';

export interface PublisherReport extends CpuReport {
  /** Messages stamped with a ts inside the window. */
  readonly offered: number;
}

let socket: XPublisher | undefined;
let source: TickSource | undefined;
let security = FabricSecurity.PLAIN;

function started(): { socket: XPublisher; source: TickSource } {
  if (socket === undefined || source === undefined) throw new Error('call start first');
  return { socket, source };
}

const methods = {
  /**
   * Exactly one of bind (direct: the subscriber connects here) and connect (to a proxy
   * frontend). With curve, a bound socket is a CURVE server admitting the subscribers' keys
   * through this process's ZAP handler, a connecting one a CURVE client with the publisher's key.
   */
  async start(params: { bind?: string; connect?: string; sendHwm: number; topics: number; curve?: CurveSettings }): Promise<{ endpoint: string; mechanism: XPublisher['securityMechanism'] }> {
    if (socket !== undefined) throw new Error('the publisher is already started');
    if (params.curve !== undefined) security = FabricSecurity.open(params.curve, createLogger('warn'));
    source = new TickSource(params.topics);
    const options = { sendHighWaterMark: params.sendHwm, linger: 0 };
    if (params.bind !== undefined) {
      socket = new XPublisher(options);
      // The bench's key directories never change while it runs, so nothing is ever revoked.
      const endpoint = await security.bind(socket, params.bind, { peers: 'subscribers', setting: 'the bench publisher bind', reopen: async () => {} });
      return { endpoint, mechanism: socket.securityMechanism };
    }
    if (params.connect === undefined) throw new Error('start needs bind or connect');
    socket = new XPublisher({ ...options, ...security.clientKeys() });
    socket.connect(params.connect);
    return { endpoint: params.connect, mechanism: socket.securityMechanism };
  },

  /** Resolves at the first subscription: the path to the subscriber is complete. (The parent bounds the wait.) */
  async subscribed(): Promise<void> {
    await started().socket.receive();
  },

  /** Publishes from now until the window ends. */
  async run(params: { window: Window; rate: number }): Promise<PublisherReport> {
    const { socket: target, source: ticks } = started();
    const [offered, cpu] = await Promise.all([publishPaced(target, ticks, params.window, params.rate), cpuOverWindow(params.window)]);
    return { offered, ...cpu };
  },
};

export type PublisherMethods = typeof methods;

/** Returns how many messages were stamped inside the window. */
async function publishPaced(target: XPublisher, ticks: TickSource, window: Window, rate: number): Promise<number> {
  let offered = 0;
  await sendPaced(target, new Pacer(rate), () => {
    const ts = nowMicros();
    if (ts >= window.endMicros) return undefined;
    if (ts >= window.startMicros) offered++;
    return ticks.message(ts);
  });
  return offered;
}

serve(methods, async () => {
  socket?.close();
  await security.close();
});
