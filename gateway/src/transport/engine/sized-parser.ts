/**
 * socket.io's own parser, with one addition: the decoder remembers how many bytes each decoded packet
 * took on the wire (all its frames, binary attachments included). socket.io hands the packet's `data`
 * array itself to `socket.use` middlewares, so the inbound guard can look the size up for exactly the
 * message it is judging; a per-connection "last frame size" would judge the wrong message whenever a
 * second frame arrives before socket.io runs the middlewares (it defers them with process.nextTick).
 * It also remembers which events came with binary attachments, which the protocol never uses.
 */
import { Decoder, Encoder } from 'socket.io-parser';

const decodedBytes = new WeakMap<object, number>();
/** Event argument arrays decoded from a packet that had binary frames (Buffers in place of placeholders). */
const binaryEvents = new WeakSet<object>();

/** The wire size of the packet whose event arguments are `args`, if this parser decoded it. */
export function wireBytesOf(args: object): number | undefined {
  return decodedBytes.get(args);
}

/**
 * True when the event whose arguments are `args` came with binary attachments. The protocol's payloads
 * are JSON: one flag set at decode time answers this for any payload, however deep or large, without
 * walking it.
 */
export function carriesBinary(args: object): boolean {
  return binaryEvents.has(args);
}

function frameBytes(frame: unknown): number {
  if (typeof frame === 'string') return Buffer.byteLength(frame);
  if (frame instanceof ArrayBuffer || ArrayBuffer.isView(frame)) return frame.byteLength;
  return 0;
}

/** The 'decoded' listener of every SizedDecoder (the emitter calls it with `this` set to the decoder). */
function recordDecoded(this: SizedDecoder, packet: { data?: unknown }): void {
  this.recordDecoded(packet);
}

class SizedDecoder extends Decoder {
  private pendingBytes = 0;
  /** Whether a frame of the packet being decoded was binary (an attachment). */
  private pendingBinary = false;

  constructor() {
    super();
    // Registered before socket.io's own listener, so the size is recorded before the packet is handled.
    // One shared function rather than a closure per connection.
    this.on('decoded', recordDecoded);
  }

  recordDecoded(packet: { data?: unknown }): void {
    if (typeof packet.data === 'object' && packet.data !== null) {
      decodedBytes.set(packet.data, this.pendingBytes);
      // Told by the frames, not the packet type: socket.io-parser 4.2.5+ rewrites BINARY_EVENT to EVENT.
      if (this.pendingBinary) binaryEvents.add(packet.data);
    }
    this.pendingBytes = 0;
    this.pendingBinary = false;
  }

  override add(frame: unknown): void {
    this.pendingBytes += frameBytes(frame);
    if (typeof frame !== 'string') this.pendingBinary = true;
    super.add(frame);
  }

  override destroy(): void {
    this.pendingBytes = 0;
    this.pendingBinary = false;
    super.destroy();
  }
}

/** The `parser` option for the socket.io Server. */
export const sizedParser = { Encoder, Decoder: SizedDecoder };
