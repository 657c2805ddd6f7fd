/**
 * The load processes' WebSocket client: the client side of RFC 6455 that a gateway's clients
 * need (handshake, masked text frames out, text messages in, pong to ping), and binary frames
 * in for a stream protocol carried over WebSocket (NATS), and no more.
 *
 * Not `ws`, because the load side must cost less than the server it measures, and per message
 * `ws` allocates a Buffer and copies one that spans socket reads into another: at 1M events/s
 * per load process the garbage collector took 30% of it and those copies 15% more (profiled).
 * Here every socket reads into its own reused buffer (net's `onread`), and a message is handed
 * over as a range of that buffer, valid only during the call.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OPCODE_CONTINUATION = 0x0;
const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;
const FIN = 0x80;
const MASKED = 0x80;
/** Holds a flush of many events; a larger message grows the buffer (and it stays grown). */
const INITIAL_BUFFER_BYTES = 256 * 1024;
/** Below this much free space after the data, the data moves to the buffer's start before the next read. */
const MIN_READ_BYTES = 64 * 1024;
const HEADER_END = '\r\n\r\n';
const MAX_HANDSHAKE_BYTES = 16 * 1024;

export interface RawClientEvents {
  /** A whole text message: data[start, end), valid only during the call. */
  message(data: Buffer, start: number, end: number): void;
  /**
   * The payload of a binary frame or of its continuation, valid only during the call: for a
   * byte stream carried in frames cut anywhere (NATS over WebSocket). Without it a binary frame
   * is a protocol error.
   */
  binary?(data: Buffer, start: number, end: number): void;
  /** The socket closed; `code` is the server's close code when it sent one. */
  close(code: number | undefined): void;
  /** The connection failed or the server broke the protocol; close follows. */
  error(err: Error): void;
}

export interface RawClientOptions {
  /** The local address to connect from (127.0.0.2, ...), so many clients do not run out of one address's ports. */
  readonly localAddress?: string;
  /** And port: chosen by the caller, the kernel need not search a free one (its bind() search grows with the ports in use). */
  readonly localPort?: number;
  /**
   * The read buffer's first size (it grows for a larger message): the default holds a busy
   * client's flushes; thousands of idle clients want a small one. Reads always have a quarter of it free.
   */
  readonly bufferBytes?: number;
}

export class RawWebSocket {
  private readonly socket: Socket;
  private readonly key = randomBytes(16).toString('base64');
  private buffer: Buffer;
  private readonly minReadBytes: number;
  /** buffer[begin, end) is received and not consumed yet: a partial message or handshake. */
  private begin = 0;
  private end = 0;
  private upgraded = false;
  private closeCode: number | undefined;
  /** A binary message's last frame has not come yet: a continuation frame belongs to it. */
  private inBinary = false;

  constructor(url: string, private readonly events: RawClientEvents, onOpen: () => void, { localAddress, localPort, bufferBytes = INITIAL_BUFFER_BYTES }: RawClientOptions = {}) {
    const { hostname, port, pathname, search } = new URL(url);
    if (!url.startsWith('ws://')) throw new Error(`the load client speaks ws:// only, got ${url}`);
    this.buffer = Buffer.allocUnsafe(bufferBytes);
    this.minReadBytes = Math.min(MIN_READ_BYTES, Math.floor(bufferBytes / 4));
    this.socket = connect({
      host: hostname.replace(/^\[|\]$/g, ''),
      port: Number(port),
      ...(localAddress === undefined ? {} : { localAddress }),
      ...(localPort === undefined ? {} : { localPort }),
      noDelay: true,
      onread: { buffer: () => this.readTarget(), callback: (bytes: number) => this.onRead(bytes, onOpen) },
    });
    this.socket.once('connect', () => {
      this.socket.write(
        `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    this.socket.on('error', (err) => this.events.error(err));
    this.socket.once('close', () => this.events.close(this.closeCode));
  }

  /** Sends one text message (masked, as a client must). */
  send(text: string): void {
    this.sendFrame(OPCODE_TEXT, Buffer.from(text));
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  get isPaused(): boolean {
    return this.socket.isPaused();
  }

  terminate(): void {
    this.socket.destroy();
  }

  /**
   * Where the next read lands: right after the data not consumed yet, so a message spanning
   * reads ends up contiguous. That data moves to the start only when the room after it runs
   * low: moving the partial message after every read took a quarter of a load process (profiled).
   */
  private readTarget(): Buffer {
    if (this.buffer.length - this.end < this.minReadBytes) {
      this.buffer.copyWithin(0, this.begin, this.end);
      this.end -= this.begin;
      this.begin = 0;
      this.makeRoom(this.end + this.minReadBytes);
    }
    return this.buffer.subarray(this.end);
  }

  /** Returns true: net would pause the socket on false. */
  private onRead(bytes: number, onOpen: () => void): boolean {
    this.end += bytes;
    try {
      if (!this.upgraded) {
        this.begin = this.handshake(this.end);
        if (!this.upgraded) return true;
        onOpen();
      }
      this.begin = this.frames(this.begin, this.end);
    } catch (err) {
      this.events.error(err as Error);
      this.socket.destroy();
      return true;
    }
    if (this.begin === this.end) this.begin = this.end = 0;
    return true;
  }

  /** Reads the server's 101 answer; returns where the frames begin (0 while it is incomplete). */
  private handshake(end: number): number {
    const headerEnd = this.buffer.subarray(0, end).indexOf(HEADER_END, 0, 'latin1');
    if (headerEnd < 0 || headerEnd + HEADER_END.length > end) {
      if (end > MAX_HANDSHAKE_BYTES) throw new Error(`the handshake answer is over ${MAX_HANDSHAKE_BYTES} bytes`);
      return 0;
    }
    const head = this.buffer.toString('latin1', 0, headerEnd);
    const accept = createHash('sha1').update(this.key + HANDSHAKE_GUID).digest('base64');
    if (!/^HTTP\/1\.1 101 /.test(head)) throw new Error(`the server refused the upgrade: ${head.split('\r\n')[0]}`);
    const answered = /^sec-websocket-accept:[ \t]*(\S+)/im.exec(head)?.[1];
    if (answered !== accept) throw new Error(`the server answered Sec-WebSocket-Accept ${answered ?? '(none)'}, expected ${accept}`);
    this.upgraded = true;
    return headerEnd + HEADER_END.length;
  }

  /** Handles every whole frame in buffer[at, end); returns where the first incomplete one begins. */
  private frames(at: number, end: number): number {
    const buffer = this.buffer;
    while (end - at >= 2) {
      const first = buffer[at]!;
      const second = buffer[at + 1]!;
      if (second & MASKED) throw new Error('the server sent a masked frame');
      let length = second & 0x7f;
      let header = 2;
      if (length === 126) {
        if (end - at < 4) break;
        length = buffer.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        if (end - at < 10) break;
        length = Number(buffer.readBigUInt64BE(at + 2));
        header = 10;
      }
      const frameEnd = at + header + length;
      if (frameEnd > end) {
        // The whole frame must fit after the next move of the data to the start.
        this.makeRoom(frameEnd - at + this.minReadBytes);
        break;
      }
      this.frame(first, at + header, frameEnd);
      at = frameEnd;
    }
    return at;
  }

  private frame(first: number, start: number, end: number): void {
    const opcode = first & 0x0f;
    if (opcode === OPCODE_TEXT && first & FIN) return this.events.message(this.buffer, start, end);
    if ((opcode === OPCODE_BINARY || (opcode === OPCODE_CONTINUATION && this.inBinary)) && this.events.binary !== undefined) {
      this.inBinary = !(first & FIN);
      return this.events.binary(this.buffer, start, end);
    }
    if (opcode === OPCODE_PING) return this.sendFrame(OPCODE_PONG, Buffer.from(this.buffer.subarray(start, end)));
    if (opcode === OPCODE_CLOSE) {
      this.closeCode = end - start >= 2 ? this.buffer.readUInt16BE(start) : undefined;
      // Echoed, as RFC 6455 section 5.5.1 asks, so the server sees a clean close.
      this.sendFrame(OPCODE_CLOSE, Buffer.from(this.buffer.subarray(start, Math.min(end, start + 2))));
      this.socket.end();
      return;
    }
    if (opcode === OPCODE_PONG) return;
    const kind = opcode === OPCODE_TEXT || opcode === OPCODE_CONTINUATION ? 'a fragmented text message' : opcode === OPCODE_BINARY ? 'a binary message' : `opcode ${opcode}`;
    throw new Error(`the server sent ${kind}, which the load client does not take`);
  }

  /** Grows the buffer to hold at least `bytes` (it moves to the start first, see readTarget). */
  private makeRoom(bytes: number): void {
    if (bytes <= this.buffer.length) return;
    let size = this.buffer.length;
    while (size < bytes) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown);
    this.buffer = grown;
  }

  private sendFrame(opcode: number, payload: Buffer): void {
    if (payload.length > 0xffff) throw new Error('the load client sends messages under 64 KiB only');
    const header = payload.length < 126 ? 2 : 4;
    const frame = Buffer.allocUnsafe(header + 4 + payload.length);
    frame[0] = FIN | opcode;
    if (header === 2) frame[1] = MASKED | payload.length;
    else {
      frame[1] = MASKED | 126;
      frame.writeUInt16BE(payload.length, 2);
    }
    const mask = randomBytes(4);
    mask.copy(frame, header);
    for (let i = 0; i < payload.length; i++) frame[header + 4 + i] = payload[i]! ^ mask[i & 3]!;
    this.socket.write(frame);
  }
}
