// What a job's submission to a batch system writes in its metadir: its job script
// (`job.sbatch`, `job.qsub`) and its variables (`job.env`), and the mark that finds the
// submission again.

import { join } from "@std/path/posix";
import { writeJobFile } from "../../core/job_files.ts";
import type { Job } from "../../core/job.ts";
import type { Resources } from "../../core/resources.ts";
import type { ContainerLauncher } from "../container/launcher.ts";
import { envFileText, renderBatchScript } from "./script.ts";
import type { BatchSystem } from "./system.ts";

/** What a job's script needs of the batch scheduler. */
export interface JobScriptHost {
  /** The batch system. */
  readonly system: BatchSystem;
  /** The workdir. */
  readonly workdir: string;
  /** The run's id. */
  readonly runId: string;
  /** Variables of every job. */
  readonly envs: Readonly<Record<string, string>>;
  /** The launcher, when jobs run in containers. */
  readonly launcher: ContainerLauncher | null;
  /** A job's name in the batch system. */
  jobName(job: Job): string;
  /** A job's container name. */
  containerName(job: Job): string;
  /** A job's current trial's limits. */
  trialResources(job: Job): Resources;
  /** What runs a job's wrapper on the node. */
  submissionArgv(job: Job): string[];
}

/**
 * A job's submission mark (Slurm keeps it in the script's `--comment`): a submission whose
 * answer the controller lost is found by it, and not made twice.
 *
 * @param runId The run's id.
 * @param job The job.
 * @returns `xqc:<runid>.<index>.<trial>`.
 */
export function submissionMark(runId: string, job: Job): string {
  return `xqc:${runId}.${job.index}.${job.trial}`;
}

/**
 * A job's variables as its script exports them: the run's and the job's, in the engine
 * client's form with an image.
 *
 * @param host The scheduler.
 * @param job The job.
 * @returns The variables.
 */
export function jobEnv(host: JobScriptHost, job: Job): Record<string, string> {
  const envs = { ...host.envs, ...job.envs };
  const launcher = host.launcher;
  return launcher ? launcher.engine.clientEnv(launcher.jobEnvs(envs)) : envs;
}

/**
 * A job's script: its option lines, then what runs its wrapper.
 *
 * @param host The scheduler.
 * @param job The job.
 * @param envs Its variables, as {@linkcode jobEnv} gives them.
 * @returns Bash.
 */
export function batchScript(
  host: JobScriptHost,
  job: Job,
  envs: Record<string, string> = jobEnv(host, job),
): string {
  const { launcher, system } = host;
  return renderBatchScript({
    index: job.index,
    trial: job.trial,
    workdir: host.workdir,
    options: system.optionLines(system.jobOptions({
      name: host.jobName(job),
      output: join(job.metadir, `${system.scriptName}.out`),
      mark: submissionMark(host.runId, job),
      resources: host.trialResources(job),
    })),
    restarted: system.restarted,
    signals: system.stopSignals,
    stopped: job.stoppedFile,
    launch: host.submissionArgv(job),
    launchCwd: launcher?.engine.clientCwd(job.metadir) ?? null,
    stop: launcher?.engine.stopArgv(host.containerName(job), launcher.remove) ?? null,
    envFile: Object.keys(envs).length ? join(job.metadir, "job.env") : null,
    startFiles: [job.rcFile, job.statusFile, job.stdoutFile, job.stderrFile, job.usageFile],
  });
}

/**
 * Write a job's script and its variables. The variables go through a file only its owner
 * reads (mode 0600), not the submit's environment, so that jobs that differ in them still
 * share arrays.
 *
 * @param host The scheduler.
 * @param job The job (its wrapper is written).
 */
export function writeSubmissionFiles(host: JobScriptHost, job: Job): void {
  const envs = jobEnv(host, job);
  if (Object.keys(envs).length) {
    writeJobFile(join(job.metadir, "job.env"), envFileText(envs), 0o600);
  }
  writeJobFile(join(job.metadir, host.system.scriptName), batchScript(host, job, envs));
}
