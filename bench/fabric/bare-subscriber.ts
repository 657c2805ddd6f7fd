/**
 * Child program: the reference a subscribing role is compared with. A zeromq.js Subscriber to
 * everything on the proxy backend that only counts what it receives (`for await` over the
 * socket, as TickStream reads it): what one ZeroMQ receive per message costs a process, before
 * any decoding, store or cache work.
 */
import { Subscriber } from 'zeromq';
import { serve } from '../common/child.js';

const RECEIVE_HWM = 200_000;

let socket: Subscriber | undefined;
let received = 0;

const methods = {
  async start(params: { backend: string }): Promise<void> {
    if (socket !== undefined) throw new Error('the bare subscriber is already started');
    socket = new Subscriber({ receiveHighWaterMark: RECEIVE_HWM, linger: 0 });
    socket.connect(params.backend);
    socket.subscribe('');
    const reading = socket;
    void (async () => {
      for await (const _ of reading) received++;
    })().catch(() => undefined); // closing the socket at exit ends the loop
  },

  async counts(): Promise<{ received: number }> {
    return { received };
  },
};

export type BareSubscriberMethods = typeof methods;

serve(methods, () => socket?.close());
