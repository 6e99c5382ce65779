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
const SLURM_KEYS = [
  "slurmOpts",
  "slurmArray",
  "sbatch",
  "squeue",
  "scancel",
  "pollInterval",
  "exitReadTimeout",
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
  const misplaced = [
    ...(scheduler === "local" ? ["image", ...CONTAINER_KEYS, ...RESOURCE_KEYS] : []),
    ...(scheduler === "slurm" && !spec.image ? CONTAINER_KEYS : []),
    ...(scheduler !== "slurm" ? SLURM_KEYS : []),
  ].find((key) => spec[key as keyof BatchSpec] !== undefined);
  if (misplaced) {
    const needs = (SLURM_KEYS as readonly string[]).includes(misplaced)
      ? "the slurm scheduler"
      : scheduler === "slurm"
      ? "an image"
      : "the container or slurm scheduler";
    throw new ValidationError(`Option "${misplaced}" needs ${needs}, not "${scheduler}"`);
  }
  const schedulerOpts: Record<string, unknown> = {};
  for (const key of PASSED) if (spec[key] !== undefined) schedulerOpts[key] = spec[key];
  if (spec.slurmArray !== undefined) schedulerOpts.array = spec.slurmArray;
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
        `Job ${index}: an image of its own needs the container or slurm scheduler with an image`,
      );
    }
    const resource = RESOURCE_KEYS.find((key) => key in job);
    if (resource && scheduler === "local") {
      throw new ValidationError(
        `Job ${index}: "${resource}" needs the container or slurm scheduler, not "local"`,
      );
    }
  }
}
