/**
 * The coordinator's side of the attack worker: forks it, runs one attack at a time with a deadline, and
 * ends it by pid in `close()` (also called on error and on Ctrl-C by the CLI).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AttackName, AttackParams } from '../attacks/attacks.ts';
import type { FromAttacker, ToAttacker } from './messages.ts';

const WORKER = fileURLToPath(new URL('./attack-worker.ts', import.meta.url));

/** How long past its deadline an attack may take to stop and report before it counts as failed. */
const REPORT_GRACE_MS = 15_000;

export class AttackProcess {
  private constructor(private readonly child: ChildProcess) {}

  static async start(): Promise<AttackProcess> {
    const child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    child.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ERR_IPC_DISCONNECTED')
        console.error('attack worker:', err.message);
    });
    const handle = new AttackProcess(child);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromAttacker): void => {
        if (m.type !== 'ready') return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number | null): void =>
        reject(new Error(`attack worker exited (${String(code)}) at start`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    return handle;
  }

  /** Runs `name` until `untilEpochMs`; resolves with its counts, rejects when it fails or does not report. */
  run(name: AttackName, params: AttackParams, untilEpochMs: number): Promise<Record<string, number>> {
    const child = this.child;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => settle(new Error(`attack ${name} did not report within ${REPORT_GRACE_MS} ms of its end`)),
        Math.max(0, untilEpochMs - (performance.timeOrigin + performance.now())) + REPORT_GRACE_MS,
      );
      const settle = (result: Record<string, number> | Error): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const onMessage = (m: FromAttacker): void => {
        if (m.type === 'done' && m.name === name) settle(m.counts);
        if (m.type === 'failed' && m.name === name) settle(new Error(`attack ${name} failed: ${m.message}`));
      };
      const onExit = (code: number | null): void =>
        settle(new Error(`attack worker exited (${String(code)}) during ${name}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
      this.post({ type: 'run', name, params, untilEpochMs });
    });
  }

  private post(message: ToAttacker): void {
    if (this.child.connected) this.child.send(message);
  }

  /** Ends the worker (SIGKILL by pid after a short grace); safe to call twice. */
  close(): void {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    this.post({ type: 'exit' });
    if (child.connected) child.disconnect();
    child.kill('SIGTERM'); // by this child's pid
    setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, 500).unref();
  }
}
