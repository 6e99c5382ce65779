// Gathering the jobs submitted at one moment, then submitting them: as arrays when there are
// enough (or always), one submit a job otherwise.

import { join } from "@std/path/posix";
import type { Job } from "../../core/job.ts";
import type { Logger } from "../../core/logger.ts";
import type { Resources } from "../../core/resources.ts";
import { submissionMark } from "./job_script.ts";
import { AUTO_ARRAY_MIN } from "./options.ts";
import { renderArrayScript } from "./script.ts";
import { type PendingSubmission, submitArrays, type SubmitContext, submitOne } from "./submit.ts";
import type { BatchSystem } from "./system.ts";

/** What submitting needs of the batch scheduler. */
export interface BatchHost {
  /** The batch system. */
  readonly system: BatchSystem;
  /** Array mode. */
  readonly array: boolean | "auto";
  /** Submit calls at once. */
  readonly submissionBatch: number;
  /** Tasks of an array that run at once. */
  readonly forks: number;
  /** The workdir. */
  readonly workdir: string;
  /** The first part of every job name of the workdir. */
  readonly jobNameStem: string;
  /** The run's id. */
  readonly runId: string;
  /** A job's name. */
  jobName(job: Job): string;
  /** A job's current trial's limits. */
  trialResources(job: Job): Resources;
  /** Where trouble is told. */
  readonly logger: Logger;
}

/** The jobs waiting to be submitted, and how they go. */
export class Batches {
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
   * Submit a job whose script is written, with the others submitted at this moment.
   *
   * @param job The job.
   * @returns Its job id (an array task's id for an array task).
   */
  submit(job: Job): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.#pending.push({ job, resolve, reject });
      if (this.#pending.length === 1) setTimeout(() => this.#flush(), 0);
    });
  }

  async #flush(): Promise<void> {
    const host = this.#host;
    const system = host.system;
    const pending = this.#pending.splice(0);
    // First trials submitted at once go in arrays; retries are resubmitted alone.
    const first = pending.filter((p) => p.job.trial === 1);
    const asArray = host.array === true ? first.length > 1 : host.array === "auto" &&
      first.length >= AUTO_ARRAY_MIN;
    const singles = asArray ? pending.filter((p) => p.job.trial !== 1) : pending;
    const context: SubmitContext = {
      system,
      batch: host.submissionBatch,
      warn: (message) => host.logger.warn(message),
    };
    await Promise.all([
      asArray
        ? submitArrays(first, {
          ...context,
          key: (job) => system.resourceKey(host.trialResources(job)),
          script: (jobs) => this.#arrayScript(jobs),
        })
        : Promise.resolve(),
      submitOne(singles, context, (job) => ({
        path: join(job.metadir, system.scriptName),
        mark: submissionMark(host.runId, job),
        name: host.jobName(job),
      })),
    ]);
  }

  #arrayScript(jobs: readonly Job[]): { path: string; mark: string; name: string } {
    const host = this.#host;
    const system = host.system;
    const dirs = jobs.map((job) => job.dir);
    const dir = join(host.workdir, `${system.key}-arrays`);
    Deno.mkdirSync(dir, { recursive: true });
    const number = this.#arrays++;
    const mark = `xqc:${host.runId}.a${number}`;
    const name = `${host.jobNameStem}array${number}`;
    const options = system.jobOptions({
      name,
      output: "/dev/null",
      mark,
      resources: host.trialResources(jobs[0]),
    });
    const text = renderArrayScript({
      workdir: host.workdir,
      dirs,
      options: system.optionLines({ ...options, ...system.arrayOptions(dirs.length, host.forks) }),
      task: system.task,
      script: system.scriptName,
    });
    const path = join(dir, `${host.runId}-${number}.${system.scriptName.replace("job.", "")}`);
    Deno.writeTextFileSync(path, text);
    return { path, mark, name };
  }
}
