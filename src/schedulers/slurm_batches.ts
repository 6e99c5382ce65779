// Gathering the jobs submitted at one moment, then submitting them: as arrays when there are
// enough (or always), one sbatch a job otherwise.

import { join } from "@std/path/posix";
import type { Job } from "../core/job.ts";
import type { Logger } from "../core/logger.ts";
import { submissionMark } from "./slurm_job.ts";
import type { Resources } from "../core/resources.ts";
import { AUTO_ARRAY_MIN, sbatchLines, type SbatchValue, slurmResources } from "./slurm_options.ts";
import { renderArrayScript } from "./slurm_script.ts";
import {
  markedComment,
  type PendingSubmission,
  submitArrays,
  type SubmitContext,
  submitOne,
} from "./slurm_submit.ts";

/** What submitting needs of the Slurm scheduler. */
export interface BatchHost {
  /** Array mode. */
  readonly array: boolean | "auto";
  /** The sbatch program. */
  readonly sbatch: string;
  /** The squeue program. */
  readonly squeue: string;
  /** sbatch calls at once. */
  readonly submissionBatch: number;
  /** Tasks of an array that run at once. */
  readonly forks: number;
  /** The workdir. */
  readonly workdir: string;
  /** The first part of every Slurm job name of the workdir. */
  readonly jobNameStem: string;
  /** The run's id. */
  readonly runId: string;
  /** The sbatch options every job gets. */
  readonly slurmOpts: Readonly<Record<string, SbatchValue>>;
  /** A job's current trial's limits. */
  trialResources(job: Job): Resources;
  /** Where trouble is told. */
  readonly logger: Logger;
}

/** The jobs waiting to be submitted, and how they go. */
export class SlurmBatches {
  #host: BatchHost;
  #pending: PendingSubmission[] = [];
  #arrays = 0;

  /**
   * Batches for a scheduler.
   *
   * @param host The scheduler.
   */
  constructor(host: BatchHost) {
    this.#host = host;
  }

  /**
   * Submit a job whose batch script is written, with the others submitted at this moment.
   *
   * @param job The job.
   * @returns Its Slurm job id (`<array>_<task>` for an array task).
   */
  submit(job: Job): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.#pending.push({ job, resolve, reject });
      if (this.#pending.length === 1) setTimeout(() => this.#flush(), 0);
    });
  }

  async #flush(): Promise<void> {
    const host = this.#host;
    const pending = this.#pending.splice(0);
    // First trials submitted at once go in arrays; retries are resubmitted alone.
    const first = pending.filter((p) => p.job.trial === 1);
    const asArray = host.array === true ? first.length > 1 : host.array === "auto" &&
      first.length >= AUTO_ARRAY_MIN;
    const singles = asArray ? pending.filter((p) => p.job.trial !== 1) : pending;
    const context: SubmitContext = {
      sbatch: host.sbatch,
      squeue: host.squeue,
      batch: host.submissionBatch,
      warn: (message) => host.logger.warn(message),
    };
    await Promise.all([
      asArray
        ? submitArrays(first, {
          ...context,
          key: (job) => JSON.stringify(slurmResources(host.trialResources(job))),
          script: (jobs) => this.#arrayScript(jobs),
        })
        : Promise.resolve(),
      submitOne(singles, context, (job) => submissionMark(host.runId, job)),
    ]);
  }

  #arrayScript(jobs: readonly Job[]): { path: string; mark: string } {
    const host = this.#host;
    const dirs = jobs.map((job) => job.dir);
    const dir = join(host.workdir, "slurm-arrays");
    Deno.mkdirSync(dir, { recursive: true });
    const number = this.#arrays++;
    const mark = `xqc:${host.runId}.a${number}`;
    const text = renderArrayScript({
      workdir: host.workdir,
      dirs,
      sbatch: sbatchLines({
        "job-name": `${host.jobNameStem}array${number}`,
        output: "/dev/null",
        array: `0-${dirs.length - 1}${Number.isFinite(host.forks) ? `%${host.forks}` : ""}`,
        ...host.slurmOpts,
        comment: markedComment(host.slurmOpts.comment, mark),
        ...slurmResources(host.trialResources(jobs[0])),
      }),
    });
    const path = join(dir, `${host.runId}-${number}.sbatch`);
    Deno.writeTextFileSync(path, text);
    return { path, mark };
  }
}
