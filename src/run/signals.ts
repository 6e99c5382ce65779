// How a run answers SIGINT, SIGTERM and SIGHUP: stop cleanly, and quit on a third Ctrl-C.

import type { Job } from "../core/job.ts";

/** The signals a run stops on (a closed terminal or ssh session sends SIGHUP). */
export const STOP_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** The exit code of a process that a signal stopped: 128 + its number. */
export const SIGNAL_EXIT_CODES: Readonly<Record<string, number>> = {
  SIGHUP: 129,
  SIGINT: 130,
  SIGTERM: 143,
};

/** What a run does on its signals. */
export interface SignalActions {
  /** The first stop signal: stop the run, killing its jobs. */
  stop(signal: Deno.Signal): void;
  /** A signal while stopping. */
  again(signal: Deno.Signal): void;
  /** The third SIGINT: quit now. */
  forceQuit(): void;
}

/**
 * Listen to the stop signals until the returned function is called.
 *
 * @param actions What to do on each.
 * @returns A function that removes the listeners.
 */
export function listenForStopSignals(actions: SignalActions): () => void {
  if (Deno.build.os === "windows") return () => {};
  let stopping = false;
  let interrupts = 0;
  const handlers: [Deno.Signal, () => void][] = STOP_SIGNALS.map((signal) => [signal, () => {
    if (signal === "SIGINT" && ++interrupts >= 3) return actions.forceQuit();
    if (stopping) return actions.again(signal);
    stopping = true;
    actions.stop(signal);
  }]);
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  return () => {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  };
}

/**
 * What a third SIGINT says as the run quits at once: the jobs that may still run, and how
 * to stop them.
 *
 * @param jobs The run's jobs.
 * @param workdir The workdir.
 * @returns The message.
 */
export function quitNowMessage(jobs: readonly Job[], workdir: string): string {
  const left = jobs.filter((job) => job.jid && job.endedAt === null && job.trial)
    .map((job) => `job ${job.index} (${job.jid})`);
  return `SIGINT a third time: quitting now` +
    (left.length
      ? `; these may still run: ${left.join(", ")} (stop them with: xqc kill -w ${workdir})`
      : "");
}
