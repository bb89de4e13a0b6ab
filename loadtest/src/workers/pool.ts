/**
 * The coordinator's side of the client workers: forks them, deals clients out round-robin, forwards
 * storm commands, and hands every record to one callback. Workers are ended by pid in `close()`, which
 * is also called on error and on Ctrl-C by the CLI.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BackoffPolicy } from '../backoff.ts';
import { Latency } from '../report/stats.ts';
import {
  emptyRoomTally,
  type ClientKind,
  type ClientRecord,
  type ClientSpec,
  type FanoutTally,
  type FromWorker,
  type RoomTally,
  type ToWorker,
} from './messages.ts';

const WORKER = fileURLToPath(new URL('./client-worker.ts', import.meta.url));

export interface PoolOptions {
  workers: number;
  policy: BackoffPolicy;
  client: ClientKind;
  connectTimeoutMs: number;
  /** Hard stop for every attempt, ms after the run start. */
  stopAtMs: number;
  onRecord: (record: ClientRecord) => void;
}

export interface FanoutResult {
  latency: Map<string, Latency>;
  rooms: Map<string, RoomTally>;
  /** Per room, per sequence number, how many members received it (all workers together). */
  receivers: Map<string, Map<number, number>>;
}

export class WorkerPool {
  readonly runStartEpochMs: number;
  private readonly children: ChildProcess[] = [];
  private readonly cpu = new Map<ChildProcess, { ms: number; at: number }>();
  private next = 0;

  private constructor(private readonly options: PoolOptions) {
    this.runStartEpochMs = performance.timeOrigin + performance.now();
  }

  /** Forks `workers` processes and waits until each has its init. */
  static async start(options: PoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    try {
      await Promise.all(Array.from({ length: Math.max(1, options.workers) }, () => pool.spawnOne()));
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  /** Milliseconds since the run started (the clock every record uses). */
  now(): number {
    return performance.timeOrigin + performance.now() - this.runStartEpochMs;
  }

  private spawnOne(): Promise<void> {
    const child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.children.push(child);
    // A disconnect racing the worker's own exit raises ERR_IPC_DISCONNECTED here; the exit says the rest.
    child.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ERR_IPC_DISCONNECTED')
        console.error('client worker:', err.message);
    });
    child.on('message', (message: FromWorker) => {
      if (message.type === 'batch') {
        this.cpu.set(child, { ms: message.cpuMs, at: this.now() });
        for (const r of message.records) this.options.onRecord(r);
      }
    });
    return new Promise((resolve, reject) => {
      const onMessage = (m: FromWorker): void => {
        if (m.type !== 'ready') return;
        child.off('message', onMessage);
        resolve();
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`client worker exited (${String(code)}) at start`)));
      this.post(child, {
        type: 'init',
        runStartEpochMs: this.runStartEpochMs,
        policy: this.options.policy,
        client: this.options.client,
        connectTimeoutMs: this.options.connectTimeoutMs,
        stopAt: this.options.stopAtMs,
      });
    });
  }

  private post(child: ChildProcess, message: ToWorker): void {
    if (child.connected) child.send(message);
  }

  /** Deals `clients` out over the workers, in chunks so no IPC message is huge. */
  add(clients: ClientSpec[]): void {
    const per = new Map<ChildProcess, ClientSpec[]>();
    for (const c of clients) {
      const child = this.children[this.next++ % this.children.length];
      if (!child) continue;
      let list = per.get(child);
      if (!list) per.set(child, (list = []));
      list.push(c);
    }
    for (const [child, list] of per) {
      for (let i = 0; i < list.length; i += 2000)
        this.post(child, { type: 'add', clients: list.slice(i, i + 2000) });
    }
  }

  /** Ends every client labelled `label` (no reconnect). */
  end(label: string): void {
    for (const child of this.children) this.post(child, { type: 'end', label });
  }

  storm(mode: 'drop' | 'blackhole'): void {
    for (const child of this.children) this.post(child, { type: 'storm', mode });
  }

  /** Asks every worker for its tallies (records are flushed first, so they arrive before the answer). */
  async report(type: 'report' | 'finish' = 'report'): Promise<{ fanout: FanoutResult; open: number }> {
    const answers = await Promise.all(
      this.children.map(
        (child) =>
          new Promise<{ fanout: FanoutTally; open: number } | undefined>((resolve) => {
            if (!child.connected) return resolve(undefined);
            const timer = setTimeout(() => resolve(undefined), 10_000);
            const onMessage = (m: FromWorker): void => {
              if (m.type !== 'report') return;
              clearTimeout(timer);
              child.off('message', onMessage);
              this.cpu.set(child, { ms: m.cpuMs, at: this.now() });
              resolve(m);
            };
            child.on('message', onMessage);
            this.post(child, { type });
          }),
      ),
    );
    const latency = new Map<string, Latency>();
    const rooms = new Map<string, RoomTally>();
    const receivers = new Map<string, Map<number, number>>();
    let open = 0;
    for (const a of answers) {
      if (!a) continue;
      open += a.open;
      for (const [label, text] of Object.entries(a.fanout.latency)) {
        const l = Latency.decode(text);
        const have = latency.get(label);
        if (have) have.add(l);
        else latency.set(label, l);
      }
      for (const [room, t] of Object.entries(a.fanout.rooms)) {
        const have = rooms.get(room) ?? emptyRoomTally();
        for (const k of Object.keys(have) as (keyof RoomTally)[]) have[k] += t[k] ?? 0;
        rooms.set(room, have);
      }
      for (const [room, pairs] of Object.entries(a.fanout.receivers)) {
        let bySeq = receivers.get(room);
        if (!bySeq) receivers.set(room, (bySeq = new Map()));
        for (const [seq, n] of pairs) bySeq.set(seq, (bySeq.get(seq) ?? 0) + n);
      }
    }
    return { fanout: { latency, rooms, receivers }, open };
  }

  /** CPU milliseconds each worker had used, and when that reading arrived (ms since the run start). */
  cpuByWorker(): { ms: number; at: number }[] {
    return this.children.map((c) => this.cpu.get(c) ?? { ms: 0, at: 0 });
  }

  get size(): number {
    return this.children.length;
  }

  /** Ends every worker (SIGKILL by pid after a short grace); safe to call twice. */
  close(): void {
    for (const child of this.children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      if (child.connected) child.disconnect();
      const pid = child.pid;
      // Records were collected by finish(); on an error path nothing is lost by ending it now.
      child.kill('SIGTERM'); // by this child's pid
      setTimeout(() => {
        if (pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, 500).unref();
    }
  }
}
