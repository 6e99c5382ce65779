// One trial of a job where it runs: its id, when it runs, and how it ended.

/** How a trial ended, as far as the place it ran can tell (the rc is in `job.rc`). */
export interface TrialEnd {
  /** Whether the job's wrapper was seen running. */
  sawRunning: boolean;
  /** The signal that ended the trial's process, if one did. */
  signal: string | null;
  /** A sentence for `job.stderr` in case the job wrote no rc. */
  why: string;
  /**
   * Where the job ran says it was lost (a cluster's time limit, a node failure): its rc is
   * -3 whatever its wrapper wrote, and `why` goes into `job.stderr`.
   */
  lost?: boolean;
  /** The peak memory the run sampled while the trial ran (no cgroup to ask), in bytes. */
  sampledPeak?: number;
}

/** A submitted trial of a job. */
export interface Trial {
  /** Its id where it runs: a container name, a pid or a Slurm job id. */
  readonly jid: string;
  /** Resolves when the job's wrapper runs; never, if it does not. */
  readonly running: Promise<void>;
  /** Resolves when the trial is over. */
  readonly ended: Promise<TrialEnd>;
  /** Whether it is over. */
  readonly hasEnded: boolean;
  /**
   * Give the trial up: what runs it is gone (a vanished container), so end it now with
   * this reason instead of waiting.
   *
   * @param why A sentence for `job.stderr`.
   */
  abandon(why: string): void;
}

/** Thrown by `submitJob` when the run stopped before the job could start. */
export class SubmissionCancelled extends Error {
  /** The job was not started: the run is stopping. */
  constructor() {
    super("The run is stopping: the job was not started");
    this.name = "SubmissionCancelled";
  }
}
