/**
 * The core of the React bindings: the provider that hands a client down and the hooks over its connection
 * state and session (useSyncExternalStore, so concurrent rendering never tears). The other hook files build
 * on these; index.ts re-exports them. Imports React and the SDK's types only.
 */
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useSyncExternalStore,
  type ReactElement,
  type ReactNode,
} from 'react';
import type { AppEventMap, StaylineClient } from '../client.ts';
import type { ConnectionState } from '../connection-machine.ts';
import type { ClientSession } from '../session.ts';

const ClientContext = createContext<StaylineClient | undefined>(undefined);

/** Props of StaylineProvider. */
export interface StaylineProviderProps<E extends object = AppEventMap> {
  /** The client from `createClient`; the provider neither connects nor closes it. */
  client: StaylineClient<E>;
  children?: ReactNode;
}

/**
 * Makes `client` available to the hooks below it.
 * @example
 * <StaylineProvider client={client}><App /></StaylineProvider>
 */
export function StaylineProvider<E extends object = AppEventMap>({
  client,
  children,
}: StaylineProviderProps<E>): ReactElement {
  // The hooks read app events with their own event map (useAppEvent<E>, useRoom<E>).
  return createElement(ClientContext.Provider, { value: client as unknown as StaylineClient }, children);
}

/**
 * The client of the nearest StaylineProvider (throws outside one).
 * @example
 * const client = useStaylineClient();
 */
export function useStaylineClient(): StaylineClient {
  const client = useContext(ClientContext);
  if (client === undefined) throw new Error('useStaylineClient must be used inside <StaylineProvider>');
  return client;
}

/**
 * The connection state; re-renders on every change.
 * @example
 * const { status, lastError } = useConnectionState();
 */
export function useConnectionState(): ConnectionState {
  const client = useStaylineClient();
  const subscribe = useCallback((onChange: () => void) => client.onStateChange(onChange), [client]);
  return useSyncExternalStore(
    subscribe,
    () => client.state,
    () => client.state,
  );
}

/**
 * The session (undefined before the first `session:restored`); re-renders on every change.
 * @example
 * const session = useSession();
 * const rooms = session?.rooms ?? [];
 */
export function useSession(): ClientSession | undefined {
  const client = useStaylineClient();
  const subscribe = useCallback((onChange: () => void) => client.onSessionChange(onChange), [client]);
  return useSyncExternalStore(
    subscribe,
    () => client.session,
    () => client.session,
  );
}
