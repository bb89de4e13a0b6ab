/**
 * Which browser origins may open a connection. Browsers always send `Origin` on cross-origin requests and
 * websocket upgrades; clients without one (servers, CLIs) cannot be driven by a hostile page, so they pass.
 */
export interface OriginPolicy {
  isAllowed(origin: string | undefined, host: string | undefined): boolean;
  /** What is allowed, for the log line of a refusal (never the refused input). */
  readonly allowedList: readonly string[];
}

/** Options of createOriginPolicy. */
export interface OriginPolicyOptions {
  /**
   * Also allow any `http://localhost:<port>` and `http://127.0.0.1:<port>` page (a dev server on another
   * port). Default false; the config turns it on in development.
   */
  allowLocalhost?: boolean;
}

const LOCALHOST_HOSTNAMES: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * `allowed` is CORS_ORIGINS: exact origins (`https://app.example.com`), or `*` for any. Pages served from
 * the gateway's own host (the Origin's host equals the request's Host, e.g. /demo) are always allowed, so
 * setting CORS_ORIGINS for an app never locks out the gateway's own pages.
 */
export function createOriginPolicy(
  allowed: readonly string[],
  options: OriginPolicyOptions = {},
): OriginPolicy {
  const anyOrigin = allowed.includes('*');
  const exact = new Set(allowed.map((o) => o.replace(/\/+$/, '').toLowerCase()));
  const allowLocalhost = options.allowLocalhost ?? false;
  const allowedList = anyOrigin
    ? ['*']
    : [
        'same origin as the gateway',
        ...(allowLocalhost ? ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*'] : []),
        ...exact,
      ];
  return {
    allowedList,
    isAllowed(origin, host) {
      if (origin === undefined || anyOrigin) return true;
      const normalized = origin.toLowerCase();
      if (exact.has(normalized)) return true;
      let url: URL;
      try {
        url = new URL(normalized);
      } catch {
        return false;
      }
      if (allowLocalhost && url.protocol === 'http:' && LOCALHOST_HOSTNAMES.has(url.hostname)) return true;
      return host !== undefined && url.host === host.toLowerCase();
    },
  };
}
