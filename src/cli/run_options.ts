// From a checked spec to the options of the library: which scheduler takes which option.

import { ValidationError } from "../core/errors.ts";
import type { XquteOptions } from "../run/xqute_options.ts";
import type { BatchSpec, JobSpec } from "./spec.ts";

/** Options only a container (an image) gives meaning to. */
const CONTAINER_KEYS = [
  "bin",
  "volumes",
  "user",
  "remove",
  "entrypoint",
  "binArgs",
  "volumeAsCwd",
  "pull",
  "pullArgs",
  "sifCache",
  "envPass",
] as const;
/** Options that need a container or a cluster. */
const RESOURCE_KEYS = [
  "cpus",
  "memory",
  "gpus",
  "memoryRetryFactor",
  "pool",
  "poolRecycle",
] as const;
/** Options only the Slurm scheduler takes. */
const SLURM_KEYS = ["slurmOpts", "slurmArray", "sbatch", "squeue", "scancel"] as const;
/** Options only the Grid Engine scheduler takes. */
const SGE_KEYS = [
  "sgeOpts",
  "sgeArray",
  "qsub",
  "qstat",
  "qdel",
  "qacct",
  "sgePe",
  "sgeMemoryResource",
  "sgeGpuResource",
] as const;
/** Options the batch schedulers take (Slurm's and Grid Engine's). */
const BATCH_KEYS = ["pollInterval", "exitReadTimeout"] as const;
/** Spec keys passed to the Grid Engine scheduler under its own names. */
const SGE_RENAMED = [
  ["sgePe", "pe"],
  ["sgeMemoryResource", "memoryResource"],
  ["sgeGpuResource", "gpuResource"],
  ["sgeArray", "array"],
] as const;
/** Options passed to the scheduler as they are. */
const PASSED = [
  "image",
  ...CONTAINER_KEYS,
  "envs",
  "cwd",
  "mountedWorkdir",
  "timeout",
  "prescript",
  "postscript",
  "workdir",
  "slurmOpts",
  "sbatch",
  "squeue",
  "scancel",
  "sgeOpts",
  "qsub",
  "qstat",
  "qdel",
  "qacct",
  "pollInterval",
  "exitReadTimeout",
  ...RESOURCE_KEYS,
] as const;

/**
 * Turn a spec into the options of {@linkcode Xqute}.
 *
 * @param spec The spec (flags already merged in).
 * @returns The options; the jobs stay in the spec.
 * @throws {ValidationError} When the container scheduler has no image, or an option
 *   does not fit the scheduler.
 */
export function xquteOptionsOf(spec: BatchSpec): XquteOptions {
  const scheduler = spec.scheduler ?? "container";
  if (scheduler === "container" && !spec.image) {
    throw new ValidationError(
      `No image: give --image (or "image" in the spec), or --scheduler local`,
    );
  }
  const batch = scheduler === "slurm" || scheduler === "sge";
  const misplaced = [
    ...(scheduler === "local" ? ["image", ...CONTAINER_KEYS, ...RESOURCE_KEYS] : []),
    ...(batch && !spec.image ? CONTAINER_KEYS : []),
    ...(scheduler !== "slurm" ? SLURM_KEYS : []),
    ...(scheduler !== "sge" ? SGE_KEYS : []),
    ...(!batch ? BATCH_KEYS : []),
  ].find((key) => spec[key as keyof BatchSpec] !== undefined);
  if (misplaced) {
    const needs = (SLURM_KEYS as readonly string[]).includes(misplaced)
      ? "the slurm scheduler"
      : (SGE_KEYS as readonly string[]).includes(misplaced)
      ? "the sge scheduler"
      : (BATCH_KEYS as readonly string[]).includes(misplaced)
      ? "the slurm or sge scheduler"
      : batch
      ? "an image"
      : "the container, slurm or sge scheduler";
    throw new ValidationError(`Option "${misplaced}" needs ${needs}, not "${scheduler}"`);
  }
  const schedulerOpts: Record<string, unknown> = {};
  for (const key of PASSED) if (spec[key] !== undefined) schedulerOpts[key] = spec[key];
  if (spec.slurmArray !== undefined) schedulerOpts.array = spec.slurmArray;
  for (const [key, name] of SGE_RENAMED) {
    if (spec[key] !== undefined) schedulerOpts[name] = spec[key];
  }
  return {
    scheduler,
    forks: spec.forks,
    errorStrategy: spec.errorStrategy,
    numRetries: spec.numRetries,
    jobnamePrefix: spec.jobnamePrefix,
    submissionBatch: spec.submissionBatch,
    recheckInterval: spec.recheckInterval,
    schedulerOpts,
  };
}

/**
 * Check, before anything starts, that every job's own options fit the scheduler: an image
 * needs containers, resources need containers or a cluster.
 *
 * @param spec The spec.
 * @param jobs The jobs.
 * @throws {ValidationError} Naming the first job that does not fit.
 */
export function checkJobsFit(spec: BatchSpec, jobs: readonly JobSpec[]): void {
  const scheduler = spec.scheduler ?? "container";
  for (const [index, job] of jobs.entries()) {
    if (job.image !== undefined && (scheduler === "local" || !spec.image)) {
      throw new ValidationError(
        `Job ${index}: an image of its own needs the container, slurm or sge scheduler with an image`,
      );
    }
    const resource = RESOURCE_KEYS.find((key) => key in job);
    if (resource && scheduler === "local") {
      throw new ValidationError(
        `Job ${index}: "${resource}" needs the container, slurm or sge scheduler, not "local"`,
      );
    }
  }
}
