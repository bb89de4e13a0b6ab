/**
 * Which browser origins may open a connection. Browsers always send `Origin` on cross-origin requests and
 * websocket upgrades; clients without one (servers, CLIs) cannot be driven by a hostile page, so they pass.
 */
export interface OriginPolicy {
  isAllowed(origin: string | undefined, host: string | undefined): boolean;
}

/**
 * `allowed` is CORS_ORIGINS: exact origins (`https://app.example.com`), or `*` for any. An empty list
 * allows only same-origin pages (the Origin's host equals the request's Host), the development default.
 */
export function createOriginPolicy(allowed: readonly string[]): OriginPolicy {
  const anyOrigin = allowed.includes('*');
  const exact = new Set(allowed.map((o) => o.replace(/\/+$/, '').toLowerCase()));
  return {
    isAllowed(origin, host) {
      if (origin === undefined || anyOrigin) return true;
      const normalized = origin.toLowerCase();
      if (exact.has(normalized)) return true;
      if (exact.size === 0 && host !== undefined) {
        try {
          return new URL(normalized).host === host.toLowerCase();
        } catch {
          return false;
        }
      }
      return false;
    },
  };
}
