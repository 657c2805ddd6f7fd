import WebSocket from 'ws';
import { backoffDelay, type BackoffOptions } from '../../util/backoff.js';
import { CloseCode } from '../../wire/index.js';
import type { AdapterMonitor } from '../adapter.js';

export interface ConnectionOptions {
  readonly url: string;
  readonly backoff: BackoffOptions;
  /**
   * After this long on one connection, open a replacement and close the old one once the new
   * one is subscribed (Binance cuts every connection at 24 h). 0: never.
   */
  readonly plannedReconnectMs: number;
  /** Bound on one upstream message; a larger one closes the connection (ws's maxPayload). */
  readonly maxMessageBytes: number;
  /** Messages sent right after each connection opens (subscriptions). */
  readonly subscribeMessages: readonly string[];
  /** Every text message of every connection, in arrival order, including overlap during a planned reconnect. */
  readonly onMessage: (text: string) => void;
  /** The connection was lost, reported once like monitor.disconnected (a planned replacement is no loss). */
  readonly onLost: () => void;
  readonly monitor: AdapterMonitor;
}

const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * One logical upstream WebSocket: reconnects with backoff and jitter after a loss, resubscribes
 * on every connection, and replaces itself before the upstream's connection age limit.
 */
export class ExchangeConnection {
  private current: WebSocket | undefined;
  private replacement: WebSocket | undefined;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private plannedTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  /** The loss is reported once; failed reconnect attempts after it are not new losses. */
  private reportedDown = false;

  constructor(private readonly options: ConnectionOptions) {}

  start(): void {
    this.stopped = false;
    this.current = this.open();
  }

  /** Sends on the current connection (a subscription change); dropped while there is none: each new connection subscribes afresh. */
  send(text: string): void {
    if (this.current?.readyState === WebSocket.OPEN) this.current.send(text);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.plannedTimer);
    for (const socket of [this.current, this.replacement]) socket?.terminate();
    this.current = this.replacement = undefined;
  }

  private open(): WebSocket {
    const { options } = this;
    const socket = new WebSocket(options.url, { handshakeTimeout: HANDSHAKE_TIMEOUT_MS, maxPayload: options.maxMessageBytes });
    let failure = 'connection closed by the exchange';
    socket.on('open', () => this.onOpen(socket));
    socket.on('message', (data, isBinary) => {
      if (this.stopped || (socket !== this.current && socket !== this.replacement)) return;
      if (socket === this.current) this.attempt = 0;
      if (isBinary) {
        options.monitor.rejected('binary', 'binary frame from a text-only feed');
        return;
      }
      options.monitor.guard(() => options.onMessage(data.toString()));
    });
    socket.on('error', (err) => {
      failure = err.message;
    });
    socket.on('close', (code) => options.monitor.guard(() => this.onClose(socket, code === CloseCode.NORMAL ? failure : `${failure} (close code ${code})`)));
    return socket;
  }

  private onOpen(socket: WebSocket): void {
    for (const message of this.options.subscribeMessages) socket.send(message);
    if (socket === this.replacement) {
      const old = this.current;
      this.current = socket;
      this.replacement = undefined;
      old?.close(CloseCode.NORMAL, 'replaced');
    } else {
      this.reportedDown = false;
      this.options.monitor.connected();
    }
    if (this.options.plannedReconnectMs > 0) {
      clearTimeout(this.plannedTimer);
      this.plannedTimer = setTimeout(() => {
        if (!this.stopped && this.replacement === undefined) this.replacement = this.open();
      }, this.options.plannedReconnectMs);
    }
  }

  private onClose(socket: WebSocket, reason: string): void {
    if (this.stopped) return;
    if (socket === this.replacement) {
      // The old connection still works; try the replacement again after a short pause.
      this.replacement = undefined;
      this.plannedTimer = setTimeout(() => {
        if (!this.stopped && this.replacement === undefined) this.replacement = this.open();
      }, this.options.backoff.minDelayMs);
      return;
    }
    if (socket !== this.current) return;
    this.current = undefined;
    clearTimeout(this.plannedTimer);
    this.replacement?.terminate();
    this.replacement = undefined;
    if (!this.reportedDown) {
      this.reportedDown = true;
      this.options.onLost();
      this.options.monitor.disconnected(reason);
    }
    this.attempt++;
    this.reconnectTimer = setTimeout(() => {
      if (this.stopped) return;
      this.options.monitor.reconnecting();
      this.current = this.open();
    }, backoffDelay(this.attempt, this.options.backoff));
  }
}
