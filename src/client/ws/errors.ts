import { isErrorCode, isRetryable, type ErrorCode, type ErrorEvent, type RequestId } from '../../wire/websocket.js';

/**
 * Codes of errors raised by the client itself, next to the server's codes:
 * - `CLOSED`: the client was closed (by close() or a terminal close code) before an answer;
 * - `TIMEOUT`: no answer within `requestTimeoutMs`, or no connection within `connectTimeoutMs`;
 * - `CONNECTION`: the connection failed (the first one, or a terminal close);
 * - `PROTOCOL`: the server sent something this client cannot read (an unknown error code too:
 *   its text is kept in `serverCode`);
 * - `UNAUTHENTICATED`: closed with CloseCode.UNAUTHENTICATED and no token function to get a fresh token
 *   (`FORBIDDEN` for CloseCode.FORBIDDEN);
 * - `SLOW_READER`: an updates() iterator fell `maxPendingUpdates` behind and was ended.
 */
export type ClientErrorCode = 'CLOSED' | 'TIMEOUT' | 'CONNECTION' | 'PROTOCOL' | 'UNAUTHENTICATED' | 'SLOW_READER';

/** The server's codes (PROTOCOL.md section 5), an alias kept for the SDK's users. */
export type ServerErrorCode = ErrorCode;

export type TickfanErrorCode = ErrorCode | ClientErrorCode;

/** An error of the gateway (an `error` event) or of the client, with a code to switch on. */
export class TickfanError extends Error {
  override readonly name = 'TickfanError';

  constructor(
    readonly code: TickfanErrorCode,
    message: string,
    /** The request the error answers, when it answers one. */
    readonly id?: RequestId,
    /** The WebSocket close code, for errors caused by a close. */
    readonly closeCode?: number,
    /** The code the server sent when this client does not know it (`code` is then PROTOCOL). */
    readonly serverCode?: string,
  ) {
    super(message);
  }

  /** The error an `error` event carries; a code of a newer protocol becomes PROTOCOL, never retried. */
  static fromEvent(event: ErrorEvent): TickfanError {
    if (isErrorCode(event.code)) return new TickfanError(event.code, event.message, event.id);
    const code = String(event.code);
    return new TickfanError('PROTOCOL', `${code}: ${event.message}`, event.id, undefined, code);
  }

  /** Whether the same request may succeed when sent again after a backoff (PROTOCOL.md section 5). */
  get retryable(): boolean {
    return isErrorCode(this.code) && isRetryable(this.code);
  }
}
