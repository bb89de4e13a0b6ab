import { createClient, type StaylineClient } from '@stayline/client-sdk';

/**
 * The events your backend publishes to users and rooms (POST /v1/publish on the gateway), by name: the SDK
 * types `onAppEvent` / `useAppEvent` with this map.
 */
export interface AppEvents {
  announcement: { text: string };
}

/** The gateway: `?gateway=` in the page URL, else VITE_STAYLINE_URL, else a local `npm start`. */
export const GATEWAY_URL =
  new URLSearchParams(location.search).get('gateway') ??
  (import.meta.env['VITE_STAYLINE_URL'] as string | undefined) ??
  'http://localhost:3000';

/**
 * One client for the app, created signed out (`autoConnect: false`). In a real app `getToken` fetches a
 * fresh token from your auth service; here it is the dev token pasted at sign-in (`npm run -s token`).
 */
export function createStaylineClient(getToken: () => string): StaylineClient<AppEvents> {
  return createClient<AppEvents>({ url: GATEWAY_URL, getToken, autoConnect: false });
}
