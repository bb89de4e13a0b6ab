/**
 * One in-process gateway per describe block: started before its tests, stopped after them with every
 * socket the tests opened. `open(sub)` connects as `sub` and waits for `session:restored`.
 */
import { afterAll, beforeAll } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { RestoredSession } from '@stayline/client-sdk/protocol';
import { connect, startGateway, tokenFor, type ClientOptions, type RunningGateway } from './gateway.ts';
import { nextEvent } from './wait.ts';

export interface GatewayFixture {
  readonly env: Record<string, string | undefined>;
  readonly url: string;
  readonly gateway: RunningGateway;
  /** Connects as `sub` (or with an explicit token) and resolves once the session is restored. */
  open(
    sub: string,
    options?: ClientOptions & { token?: string },
  ): Promise<{ socket: Socket; session: RestoredSession }>;
  /** Keeps `socket` to be closed after the block. */
  track(socket: Socket): Socket;
  /** The first number a regular expression captures from /metrics (0 when absent). */
  metric(pattern: RegExp): Promise<number>;
}

/** Registers beforeAll/afterAll hooks; `makeEnv` runs in beforeAll (so it may start Redis first). */
export function useGateway(
  makeEnv: () => Record<string, string | undefined> | Promise<Record<string, string | undefined>>,
): GatewayFixture {
  let env: Record<string, string | undefined> | undefined;
  let running: RunningGateway | undefined;
  const sockets: Socket[] = [];
  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the gateway fixture is used outside its describe block');
    return value;
  };
  beforeAll(async () => {
    env = await makeEnv();
    running = await startGateway(env);
  });
  afterAll(async () => {
    for (const s of sockets.splice(0)) s.close();
    await running?.stop();
  });
  const fixture: GatewayFixture = {
    get env() {
      return need(env);
    },
    get url() {
      return need(running).url;
    },
    get gateway() {
      return need(running);
    },
    async open(sub, options = {}) {
      const { token, ...clientOptions } = options;
      const socket = fixture.track(connect(fixture.url, token ?? tokenFor(fixture.env, sub), clientOptions));
      return { socket, session: await nextEvent<RestoredSession>(socket, 'session:restored') };
    },
    track(socket) {
      sockets.push(socket);
      return socket;
    },
    async metric(pattern) {
      const text = await fetch(`${fixture.url}/metrics`).then((r) => r.text());
      return Number(pattern.exec(text)?.[1] ?? 0);
    },
  };
  return fixture;
}
