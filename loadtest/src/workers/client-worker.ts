/**
 * A client worker: a child process that runs thousands of simulated users and streams what they did to
 * the coordinator. Each user is carried by the client the run chose (`init.client`): the lean client
 * (lean-sim.ts, for scale, with a reconnect policy) or the real SDK (sdk-sim.ts, the shipped reconnect
 * code). Started by pool.ts with `fork`; talks only over the IPC channel.
 */
import { LeanSim } from './lean-sim.ts';
import type { ToWorker } from './messages.ts';
import { SdkSim } from './sdk-sim.ts';
import type { SimBase } from './sim-base.ts';
import { cpuMs, fanoutTally, flush, run, send } from './worker-io.ts';

const sims = new Set<SimBase>();

process.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'init':
      run.init = message;
      send({ type: 'ready' });
      return;
    case 'add':
      for (const spec of message.clients) {
        const sim = run.init?.client === 'sdk' ? new SdkSim(spec) : new LeanSim(spec);
        sims.add(sim);
        sim.start();
      }
      return;
    case 'storm':
      for (const sim of sims) sim.storm(message.mode);
      return;
    case 'end':
      for (const sim of sims) if (sim.label === message.label) sim.finish();
      return;
    case 'report':
      flush();
      send({
        type: 'report',
        fanout: fanoutTally(),
        cpuMs: cpuMs(),
        open: [...sims].filter((s) => s.isOpen).length,
      });
      return;
    case 'finish':
      for (const sim of sims) sim.finish();
      flush();
      send({ type: 'report', fanout: fanoutTally(), cpuMs: cpuMs(), open: 0 });
      setTimeout(() => process.exit(0), 50);
      return;
  }
});
process.on('disconnect', () => process.exit(0));
