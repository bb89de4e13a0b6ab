/**
 * Tells a refused page origin from an unreachable server after a connection attempt failed without a code:
 * a browser hides the websocket's HTTP 403, so the SDK asks the engine's polling URL once (see
 * `ClientOptions.fetch`). Imports only the error reader.
 */
import { readWireError } from './errors.ts';

/**
 * True on HTTP 403 from the engine's polling URL (`<url><path>/?EIO=4&transport=polling&sid=origin-probe`);
 * false for anything else, including a failed fetch.
 */
export async function originRefused(
  fetchFn: typeof globalThis.fetch,
  url: string,
  path: string | undefined,
): Promise<{ refused: boolean; message?: string | undefined }> {
  let probe: URL;
  try {
    // Relative gateway URLs ('/') are relative to the page, as socket.io-client takes them.
    probe = new URL(url, (globalThis as { location?: { href?: string } }).location?.href);
  } catch {
    return { refused: false };
  }
  probe.pathname = `${(path ?? '/socket.io').replace(/\/+$/, '')}/`;
  probe.search = '?EIO=4&transport=polling&sid=origin-probe';
  try {
    const response = await fetchFn(probe.href, { method: 'GET', credentials: 'omit' });
    if (response.status !== 403) return { refused: false };
    const body: unknown = await response.json().catch(() => undefined);
    return { refused: true, message: readWireError(body)?.message };
  } catch {
    return { refused: false };
  }
}
