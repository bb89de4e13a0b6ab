/**
 * `--client sdk`: the workers drive the real SDK (`createClient`), so a storm runs the shipped reconnect
 * code. Tiny storms against real gateway processes the CLI starts; the report must show every dropped
 * client back with its state, through the SDK (its own drop codes), and the option errors of the CLI.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from './support/run-cli.ts';

describe('loadtest --client sdk (real SDK clients, real gateways)', () => {
  it('storm --kill: the SDK clients of the killed node reconnect elsewhere and restore rooms, queue place and seat', async () => {
    const r = await runCli([
      'storm',
      '--start-cluster',
      '2',
      '--clients',
      '30',
      '--kill',
      '--client',
      'sdk',
      '--no-baseline',
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.report?.options['client']).toBe('sdk');
    // Client i starts on node i % 2; node 0 is killed. Every restored session is compared with the
    // snapshot from the client's own acks (rooms, queue place, held seat).
    expect(r.report?.counts).toMatchObject({
      clients: 30,
      ready: 30,
      dropped: 15,
      restored: 15,
      neverRestored: 0,
      mismatches: 0,
      duplicateSeats: 0,
      stranded: 0,
      // The drop as the SDK's state machine reported it (a lean client records the transport's reason).
      'down:CLIENT_NETWORK': 15,
    });
    expect(r.report?.latency['drop → session:restored']?.count).toBe(15);
    expect(r.report?.latency['ack seat:hold']?.count).toBe(30);
  });

  it('storm --drop: every SDK client whose TCP connection was reset comes back with its session', async () => {
    const r = await runCli([
      'storm',
      '--start-cluster',
      '1',
      '--clients',
      '20',
      '--drop',
      '--client',
      'sdk',
      '--no-baseline',
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.report?.counts).toMatchObject({ dropped: 20, restored: 20, neverRestored: 0, mismatches: 0 });
    // Restored means the server found the session: `recovered: true` on every reconnect (else a mismatch).
    expect(r.report?.latency['drop → session:restored']?.count).toBe(20);
  });

  it("fanout --client sdk: every member's handler sees every message once, none reordered, no gap", async () => {
    const r = await runCli([
      'fanout',
      '--start-cluster',
      '2',
      '--sizes',
      '5,10',
      '--rate',
      '20',
      '--duration',
      '2',
      '--client',
      'sdk',
    ]);
    expect(r.code, r.output).toBe(0);
    expect(r.report?.options['client']).toBe('sdk');
    const c = r.report?.counts ?? {};
    expect(c['publishesAccepted']).toBe(c['publishesSent']);
    expect(c['expectedDeliveries']).toBeGreaterThan(0);
    expect(c).toMatchObject({ members: 15, gaps: 0, duplicates: 0, reordered: 0, gapEvents: 0 });
    expect(c['deliveries']).toBe(c['expectedDeliveries']);
    expect(r.report?.metrics['fanout-reordered']).toBe(0);
  });

  it('refuses a lean-only policy with --client sdk, and a bad number, in one line naming the flag', async () => {
    const policy = await runCli(['storm', '--drop', '--client', 'sdk', '--policy', 'socketio']);
    expect(policy.code).toBe(2);
    expect(policy.output.trim()).toBe(
      'loadtest storm: --policy socketio: the SDK follows its own policy (use --client lean)',
    );
    const clients = await runCli(['storm', '--drop', '--clients', 'ten']);
    expect(clients.code).toBe(2);
    expect(clients.output.trim()).toBe('loadtest storm: --clients: expected a whole number, got "ten"');
  });
});
