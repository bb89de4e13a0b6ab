/**
 * Sampled logging for events a hostile client can cause at will (refused handshakes, flood cut-offs,
 * refused origins): an operator must see who and why, but a flood must not become a log flood. Per key
 * (a bounded set: the refusal code), the first `perWindow` events of each window are logged; the rest
 * are counted, and the next logged line of that key says how many were suppressed.
 */
import type { Logger } from 'pino';

export interface LogSamplerOptions {
  /** Lines logged per key and window. Default 10. */
  perWindow?: number;
  /** Window length in ms. Default 10,000. */
  windowMs?: number;
  now?: () => number;
}

export type SampledLevel = 'info' | 'warn';

/** Logs `msg` with `fields` at `level` unless this key already logged `perWindow` lines in this window. */
export type SampledLog = (
  key: string,
  level: SampledLevel,
  fields: Record<string, unknown>,
  msg: string,
) => void;

export function createLogSampler(log: Logger, options: LogSamplerOptions = {}): SampledLog {
  const perWindow = options.perWindow ?? 10;
  const windowMs = options.windowMs ?? 10_000;
  const now = options.now ?? (() => performance.now());
  const windows = new Map<string, { startedAt: number; logged: number; suppressed: number }>();
  return (key, level, fields, msg) => {
    const at = now();
    let window = windows.get(key);
    if (window === undefined || at - window.startedAt >= windowMs) {
      const suppressed = window?.suppressed ?? 0;
      window = { startedAt: at, logged: 0, suppressed };
      windows.set(key, window);
    }
    if (window.logged >= perWindow) {
      window.suppressed += 1;
      return;
    }
    window.logged += 1;
    const extra = window.suppressed > 0 ? { suppressedSinceLastLine: window.suppressed } : {};
    window.suppressed = 0;
    log[level]({ ...fields, ...extra }, msg);
  };
}
