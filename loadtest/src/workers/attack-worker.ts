/**
 * The attack worker: a child process that runs the `abuse` scenario's attacks (src/attacks/), one at a
 * time, each until the deadline it is given, and answers with what it counted. A process of its own, so a
 * flood at full speed does not stall the coordinator's clock or its records. Started by attack-process.ts
 * with `fork`; talks only over the IPC channel.
 */
import { runAttack } from '../attacks/attacks.ts';
import type { FromAttacker, ToAttacker } from './messages.ts';

const send = (message: FromAttacker): void => {
  process.send?.(message);
};

process.on('message', (message: ToAttacker) => {
  switch (message.type) {
    case 'run':
      runAttack(message.name, message.params, message.untilEpochMs).then(
        (counts) => send({ type: 'done', name: message.name, counts }),
        (err: unknown) =>
          send({
            type: 'failed',
            name: message.name,
            message: err instanceof Error ? (err.stack ?? err.message) : String(err),
          }),
      );
      return;
    case 'exit':
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
