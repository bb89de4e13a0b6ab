/**
 * LISTEN_BACKLOG reaches the kernel: the listening socket's accept queue (the `Send-Q` column `ss` shows for
 * a listening socket) is the configured size, not Node's default of 511 (docs/configuration.md).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { baseEnv, startGateway } from '../support/gateway.ts';

/** The accept-queue size of the socket listening on 127.0.0.1:`port`, as `ss -ltn` reports it. */
function backlogOf(port: number): number {
  const line = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim();
  // State, Recv-Q, Send-Q (the backlog of a listening socket), local address, peer address.
  const sendQ = line.split(/\s+/)[2];
  return Number(sendQ);
}

const hasSs = (() => {
  try {
    execFileSync('ss', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.runIf(process.platform === 'linux' && hasSs)('the listen backlog', () => {
  it('is LISTEN_BACKLOG, and 4096 by default', async () => {
    const configured = await startGateway(baseEnv({ LISTEN_BACKLOG: '1234' }));
    const byDefault = await startGateway(baseEnv());
    try {
      expect(backlogOf(configured.port)).toBe(1234);
      // Linux caps the backlog at net.core.somaxconn.
      const somaxconn = Number(execFileSync('cat', ['/proc/sys/net/core/somaxconn'], { encoding: 'utf8' }));
      expect(backlogOf(byDefault.port)).toBe(Math.min(4096, somaxconn));
    } finally {
      await configured.stop();
      await byDefault.stop();
    }
  });
});
