/**
 * Small helpers for the child processes dev tooling starts (HAProxy, the plain socket.io baseline):
 * stop one by its pid with escalation, forward its output line by line, and kill what is still running
 * when this process exits. Nothing here ever signals a process it did not start.
 */
import type { ChildProcess } from 'node:child_process';

const tracked = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Kills `child` (SIGKILL) if it is still running when this process exits: the synchronous last resort for
 * a test or CLI that ends without stopping what it started. Gateway and Redis helpers keep their own.
 */
export function killAtExit(child: ChildProcess): ChildProcess {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of tracked) c.kill('SIGKILL');
    });
  }
  tracked.add(child);
  child.once('exit', () => tracked.delete(child));
  return child;
}

/** True once `child` has exited (by code or by signal). */
export const hasExited = (child: ChildProcess): boolean =>
  child.exitCode !== null || child.signalCode !== null;

/** Resolves with the exit code once `child` has exited (at once if it already has). */
export function exitOf(child: ChildProcess): Promise<number | null> {
  if (hasExited(child)) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Sends `signal`, escalates to SIGKILL after `timeoutMs`, resolves once the process has exited. */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<void> {
  if (hasExited(child)) return;
  const exited = exitOf(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** Calls `onLine` with every complete, non-empty line `stream` emits. */
export function forwardLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  let pending = '';
  stream?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line !== '') onLine(line);
  });
}
