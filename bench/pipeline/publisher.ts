/**
 * Child program: publishes TickSource messages at a paced rate on an XPUB socket. XPUB
 * rather than PUB so it can see the first subscription arrive: a PUB drops everything sent
 * before then (ZeroMQ's slow joiner), which would show up as lost messages.
 */
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import { XPublisher } from 'zeromq';
import { nowMicros } from '../../src/wire/index.js';
import { childOptions, emit, measureCpu, nextCommand, onShutdown, runChild } from './child.js';
import type { PublisherOptions, PublisherReport, Window } from './messages.js';
import { TickSource } from './ticks.js';

/** Pacing granularity: each tick, send what the schedule says is due. */
const TICK_MS = 1;
/** A backlog beyond this is given up rather than sent as one burst the pipeline never asked for. */
const MAX_BACKLOG_SECONDS = 0.05;

runChild(async () => {
  const options = childOptions<PublisherOptions>();
  const socket = new XPublisher({ sendHighWaterMark: options.sendHwm, linger: 0 });
  onShutdown(() => socket.close());
  let endpoint: string;
  if (options.bind !== undefined) {
    await socket.bind(options.bind);
    endpoint = socket.lastEndpoint ?? options.bind;
  } else {
    socket.connect(options.connect!);
    endpoint = options.connect!;
  }
  await emit({ type: 'ready', endpoints: [endpoint] });

  // The first subscription: the path to the subscriber is complete. (The parent bounds the wait.)
  await socket.receive();
  await emit({ type: 'subscribed' });

  const { window, rate } = await nextCommand('run');
  const [offered, cpu] = await Promise.all([publishPaced(socket, new TickSource(options.topics), window, rate), measureCpu(window)]);
  await emit<PublisherReport>({ type: 'result', report: { offered, ...cpu } });
});

/** Publishes from now until the window ends; returns how many messages were stamped inside the window. */
async function publishPaced(socket: XPublisher, source: TickSource, window: Window, rate: number): Promise<number> {
  const perMs = rate / 1000;
  const maxBacklog = Math.max(1, Math.ceil(rate * MAX_BACKLOG_SECONDS));
  let origin = performance.now();
  let sent = 0;
  let offered = 0;
  for (;;) {
    let due = Math.floor((performance.now() - origin) * perMs) - sent;
    if (due > maxBacklog) {
      origin += (due - maxBacklog) / perMs;
      due = maxBacklog;
    }
    if (due <= 0) {
      await sleep(TICK_MS);
      continue;
    }
    for (let i = 0; i < due; i++) {
      const ts = nowMicros();
      if (ts >= window.endMicros) return offered;
      // One send at a time: zeromq.js rejects a second pending send with EBUSY.
      await socket.send(source.message(ts));
      sent++;
      if (ts >= window.startMicros) offered++;
    }
    // A publisher that is behind must still let timers and IPC run.
    await yieldToEventLoop();
  }
}
