/**
 * A cap on the packets of one long-polling POST. Engine.IO decodes a whole POST body (up to
 * maxHttpBufferSize) and hands every packet to socket.io in one synchronous loop: 21,000 tiny packets in
 * one POST held the node for 0.7 s. The polling transport's `onData` is wrapped so the packets are counted
 * (Engine.IO v4 separates them with the record separator \x1e) before any is decoded; over the cap, none
 * is, and the caller closes the connection.
 */

/** The Engine.IO v4 payload separator (protocol v4: "\x1e" between packets). */
const RECORD_SEPARATOR = 0x1e;

/**
 * How many packets the encoded payload `data` carries, counting no further than `max + 1` (enough to tell
 * that it is over): separators plus one.
 */
export function countPayloadPackets(data: string | Uint8Array, max: number): number {
  const next = (from: number): number =>
    typeof data === 'string' ? data.indexOf('\x1e', from) : data.indexOf(RECORD_SEPARATOR, from);
  let packets = 1;
  for (let at = next(0); at >= 0 && packets <= max; at = next(at + 1)) packets += 1;
  return packets;
}

/** The part of an Engine.IO connection (engine.io `Socket`) the cap needs. */
export interface PollingConnection {
  readonly transport: { readonly name: string; onData(data: unknown): void };
}

/**
 * Wraps the polling transport of `conn` (a no-op for a connection that opened over WebSocket: each
 * WebSocket frame is one packet). A POST with more than `maxPackets` packets is not decoded at all:
 * `onExceeded` is called instead (once per such POST) and must close the connection.
 */
export function capPollingPackets(
  conn: PollingConnection,
  maxPackets: number,
  onExceeded: (packets: number) => void,
): void {
  const transport = conn.transport;
  if (transport.name !== 'polling') return;
  const decode = transport.onData.bind(transport);
  transport.onData = (data: unknown): void => {
    if (typeof data === 'string' || data instanceof Uint8Array) {
      const packets = countPayloadPackets(data, maxPackets);
      if (packets > maxPackets) {
        onExceeded(packets);
        return;
      }
    }
    decode(data);
  };
}
