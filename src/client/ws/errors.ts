import type { RequestId, ServerErrorCode } from './protocol.js';

/**
 * Codes of errors raised by the client itself, next to the server's codes:
 * - `CLOSED`: the client was closed (by close() or a terminal close code) before an answer;
 * - `TIMEOUT`: no answer within `requestTimeoutMs`, or no connection within `connectTimeoutMs`;
 * - `CONNECTION`: the connection failed (the first one, or a terminal close);
 * - `PROTOCOL`: the server sent something this client cannot read;
 * - `UNAUTHENTICATED`: closed with 4001 and no token function to get a fresh token (`FORBIDDEN` for 4003).
 */
export type ClientErrorCode = 'CLOSED' | 'TIMEOUT' | 'CONNECTION' | 'PROTOCOL' | 'UNAUTHENTICATED';

export type TickfanErrorCode = ServerErrorCode | ClientErrorCode;

/** An error of the gateway (an `error` event) or of the client, with a code to switch on. */
export class TickfanError extends Error {
  override readonly name = 'TickfanError';

  constructor(
    readonly code: TickfanErrorCode | (string & {}),
    message: string,
    /** The request the error answers, when it answers one. */
    readonly id?: RequestId,
    /** The WebSocket close code, for errors caused by a close. */
    readonly closeCode?: number,
  ) {
    super(message);
  }
}
