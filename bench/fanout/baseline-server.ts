/**
 * Child program: the baseline the gateway is compared with. The simplest server that does
 * the same job: a ZeroMQ Subscriber on the proxy backend and one ws.send(text) per tick per
 * client, the event text built once per tick in the gateway's tick-event form. No batching,
 * no conflation, no per-client routing (the baseline runs only in the cases where every
 * client wants every topic), no backpressure.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { Subscriber } from 'zeromq';
import { WS_PATH } from '../../src/wire/index.js';
import { decodeHeader } from '../../src/wire/index.js';
import { serve } from '../common/child.js';

/** The shipped default of subscriber.receiveHwm, the gateway's own. */
const RECEIVE_HWM = 200_000;

const subscribed = new Set<WebSocket>();
let server: WebSocketServer | undefined;
let socket: Subscriber | undefined;

function accept(ws: WebSocket): void {
  ws.send(JSON.stringify([{ type: 'welcome', session: 'baseline', server: 'baseline', heartbeatMs: 0 }]));
  ws.on('message', (data) => {
    let request: { op?: unknown; id?: unknown; topics?: unknown };
    try {
      request = JSON.parse(String(data)) as typeof request;
    } catch {
      ws.send(JSON.stringify([{ type: 'error', code: 'BAD_REQUEST', message: 'malformed JSON' }]));
      return;
    }
    if (request.op !== 'subscribe') {
      ws.send(JSON.stringify([{ type: 'error', id: request.id, code: 'BAD_REQUEST', message: 'the baseline knows only subscribe' }]));
      return;
    }
    ws.send(JSON.stringify([{ type: 'subscribed', id: request.id, topics: request.topics }]));
    subscribed.add(ws);
  });
  ws.on('close', () => subscribed.delete(ws));
  ws.on('error', () => subscribed.delete(ws));
}

async function forward(from: Subscriber): Promise<void> {
  try {
    for await (const [topic, header, payload] of from) {
      const { epoch, seq, ts } = decodeHeader(header!);
      const text = `[{"type":"tick","topic":${JSON.stringify(topic!.toString('latin1'))},"epoch":${epoch},"seq":${seq},"ts":${ts},"data":${payload!.toString('utf8')}}]`;
      for (const ws of subscribed) ws.send(text);
    }
  } catch (err) {
    // Closed mid-receive, zeromq.js may reject rather than end the iteration.
    if (!from.closed) throw err;
  }
}

const methods = {
  async start(params: { backend: string }): Promise<{ url: string }> {
    if (server !== undefined) throw new Error('the baseline server is already started');
    socket = new Subscriber({ receiveHighWaterMark: RECEIVE_HWM, linger: 0 });
    socket.connect(params.backend);
    socket.subscribe('tick.');
    void forward(socket);
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: WS_PATH });
    server = wss;
    wss.on('connection', accept);
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    const address = wss.address();
    if (address === null || typeof address === 'string') throw new Error(`unexpected server address ${address}`);
    return { url: `ws://127.0.0.1:${address.port}${WS_PATH}` };
  },
};

export type BaselineMethods = typeof methods;

serve(methods, () => {
  socket?.close();
  for (const ws of subscribed) ws.terminate();
  server?.close();
});
