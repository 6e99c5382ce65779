// A job: its command, its metadir and the files in it, and its state in this process.

import { join } from "@std/path/posix";
import type { ResourceOptions, Resources } from "./resources.ts";
import type { JobUsage } from "./usage.ts";
import { JobStatus, type JobStatusCode } from "./status.ts";
import { shellJoin } from "./shell.ts";
import { makeJobFolder, readJobFile } from "./job_files.ts";

/** A job's command: a shell command line run by bash, or an argv passed literally. */
export type JobCommand = string | readonly string[];

/** Options of one fed job. */
export interface JobOptions extends ResourceOptions {
  /** Environment variables set for this job only (names must be valid shell names). */
  envs?: Record<string, string>;
  /** The image this job runs in, instead of the scheduler's. */
  image?: string;
}

/**
 * Whether a name can be an environment variable of a job (a shell name).
 *
 * @param name The name.
 * @returns `true` for `[A-Za-z_][A-Za-z0-9_]*`.
 */
export function isEnvName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

/**
 * Check environment variables: an object of shell names to strings.
 *
 * @param envs The variables.
 * @param what How to name them in a message.
 * @throws {TypeError} For something else, a bad name or a value that is not a string.
 */
export function validateEnvs(envs: unknown, what = "Envs"): void {
  if (typeof envs !== "object" || envs === null || Array.isArray(envs)) {
    throw new TypeError(`${what} must be an object of name: value`);
  }
  for (const [name, value] of Object.entries(envs)) {
    if (!isEnvName(name)) throw new TypeError(`Bad env name "${name}"`);
    if (typeof value !== "string") {
      throw new TypeError(`Env "${name}" must be a string, not ${typeof value}`);
    }
  }
}

/**
 * Check a job's command and envs.
 *
 * @param cmd The command.
 * @param envs Its environment variables.
 * @throws {TypeError} For an empty command, a non-string word or a bad env name.
 */
export function validateJobInput(cmd: unknown, envs: unknown = {}): void {
  if (typeof cmd === "string") {
    if (cmd.trim() === "") throw new TypeError("Empty command");
  } else if (Array.isArray(cmd)) {
    if (cmd.length === 0 || cmd[0] === "") throw new TypeError("Empty command");
    const bad = cmd.find((word) => typeof word !== "string");
    if (bad !== undefined) {
      throw new TypeError(`Command word ${JSON.stringify(bad)} is not a string`);
    }
  } else {
    throw new TypeError(`Command must be a string or an array of strings, not ${typeof cmd}`);
  }
  validateEnvs(envs);
}

const NO_ENVS: Readonly<Record<string, string>> = Object.freeze({});
const NO_RESOURCES: Readonly<Resources> = Object.freeze({});
const NO_TRIALS: readonly Resources[] = Object.freeze([]);
const ONE_TRIAL: readonly Resources[] = Object.freeze([NO_RESOURCES]);
const roots = new Map<string, string>();

/** One string for each folder that metadirs share (a run's workdir), however many jobs. */
function intern(text: string): string {
  const known = roots.get(text);
  if (known !== undefined) return known;
  roots.set(text, text);
  return text;
}

/** A metadir's folder (shared) and name. */
function splitPath(path: string): [string | null, string] {
  path = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const at = path.lastIndexOf("/");
  return at < 0 ? [null, path] : [intern(path.slice(0, at)), path.slice(at + 1)];
}

/** A job of a run: one command, run in one metadir, perhaps several trials. */
export class Job {
  /** The job's index in its run, from 0; also its metadir's name, unless it was placed. */
  readonly index: number;
  /** The command as fed. */
  readonly cmd: JobCommand;
  /** The job's own environment variables. */
  readonly envs: Readonly<Record<string, string>>;
  // A run keeps every job to its end: the metadirs are kept as their folders, which all the
  // run's jobs share, and a name (none for the index), not as two paths a job.
  #root: string | null;
  #mountedRoot: string | null;
  #dir: string | null;
  // A metadir mounted under another name than the host's (none of this project's own).
  #mountedElsewhere: string | null = null;
  /** The image this job runs in, when it is not its scheduler's. */
  readonly image: string | null;
  /** The resources this job asks for, over its scheduler's. */
  readonly resources: Readonly<Resources>;
  /** What its memory is multiplied by: grows on a retry after it ran out of memory. */
  memoryFactor = 1;
  /** Whether its last trial ran out of memory (the kernel's OOM killer struck in it). */
  ranOutOfMemory = false;
  /** Each trial's resources, in order. */
  trialLimits: readonly Resources[] = NO_TRIALS;
  /** What its last trial used, once it ended. */
  usage: JobUsage | null = null;
  /** The current status, a {@linkcode JobStatus} code. */
  status: JobStatusCode = JobStatus.INIT;
  /** The last trial's exit code; `null` until it is known. */
  rc: number | null = null;
  /** How many trials have been started (1 for the first). */
  trial = 0;
  /** The engine's id: a container name, or a process id. */
  jid = "";
  /** Whether the last trial was killed (by a signal, a halt or a kill). */
  killed = false;
  /** Why the last trial was killed, for its `job.stderr`. */
  killReason: string | null = null;
  /** Whether the job was skipped because an earlier run of the workdir finished it. */
  skipped = false;
  /** When the first trial was submitted (ms since the epoch). */
  submittedAt: number | null = null;
  /** When the last trial was submitted. */
  trialSubmittedAt: number | null = null;
  /** When the last trial started running. */
  startedAt: number | null = null;
  /** When the last trial ended. */
  endedAt: number | null = null;

  /**
   * Make a job; nothing is written until it is submitted.
   *
   * @param index The job's index.
   * @param cmd Its command.
   * @param metadir Its metadir on the host.
   * @param mountedMetadir Its metadir as the job sees it.
   * @param envs Its environment variables.
   * @param own Its own image and resources.
   */
  constructor(
    index: number,
    cmd: JobCommand,
    metadir: string,
    mountedMetadir: string = metadir,
    envs: Record<string, string> = {},
    own: { image?: string | null; resources?: Resources } = {},
  ) {
    validateJobInput(cmd, envs);
    this.index = index;
    this.cmd = typeof cmd === "string" ? cmd : [...cmd];
    this.envs = Object.keys(envs).length ? { ...envs } : NO_ENVS;
    const [root, dir] = splitPath(metadir);
    this.#root = root;
    this.#dir = dir === String(index) ? null : dir;
    const [mountedRoot, mountedDir] = splitPath(mountedMetadir);
    this.#mountedRoot = mountedRoot;
    if (mountedDir !== dir) this.#mountedElsewhere = mountedMetadir;
    this.image = own.image ?? null;
    this.resources = own.resources && Object.keys(own.resources).length
      ? { ...own.resources }
      : NO_RESOURCES;
  }

  /** The metadir on the host: `<workdir>/<index>` (another name when {@linkcode placeIn}). */
  get metadir(): string {
    return this.#root === null ? this.dir : `${this.#root}/${this.dir}`;
  }

  /** The metadir as the job sees it (inside the container). */
  get mountedMetadir(): string {
    if (this.#mountedElsewhere !== null) return this.#mountedElsewhere;
    return this.#mountedRoot === null ? this.dir : `${this.#mountedRoot}/${this.dir}`;
  }

  /** The command as one line, for people. */
  get cmdText(): string {
    return typeof this.cmd === "string" ? this.cmd : shellJoin(this.cmd);
  }

  /** `job.status`, written by the wrapper. */
  get statusFile(): string {
    return `${this.metadir}/job.status`;
  }
  /** `job.rc`: the exit code. */
  get rcFile(): string {
    return `${this.metadir}/job.rc`;
  }
  /** `job.stdout`. */
  get stdoutFile(): string {
    return `${this.metadir}/job.stdout`;
  }
  /** `job.stderr`. */
  get stderrFile(): string {
    return `${this.metadir}/job.stderr`;
  }
  /** `job.jid`: the container name or process id. */
  get jidFile(): string {
    return `${this.metadir}/job.jid`;
  }
  /** `job.submission`: the engine argv, one argument a line. */
  get submissionFile(): string {
    return `${this.metadir}/job.submission`;
  }
  /** `job.oom`: written by the wrapper when the OOM killer struck in the job. */
  get oomFile(): string {
    return `${this.metadir}/job.oom`;
  }
  /** `job.usage`: the trial's times, peak memory and CPU time, as its wrapper measured them. */
  get usageFile(): string {
    return `${this.metadir}/job.usage`;
  }
  /** `job.stopped`: the signal a batch system stopped the job's script with, if any. */
  get stoppedFile(): string {
    return `${this.metadir}/job.stopped`;
  }

  /** `job.retry/`: the files of earlier trials, one folder a trial. */
  get retryDir(): string {
    return `${this.metadir}/job.retry`;
  }

  /** The files a trial writes, moved aside before a retry. */
  get trialFiles(): string[] {
    return [
      this.statusFile,
      this.rcFile,
      this.stdoutFile,
      this.stderrFile,
      this.jidFile,
      this.submissionFile,
      this.oomFile,
      this.usageFile,
      this.stoppedFile,
      // What a job script or a pool's agent said of this trial.
      `${this.metadir}/job.sbatch.out`,
      `${this.metadir}/job.qsub.out`,
      `${this.metadir}/job.pool.out`,
    ];
  }

  /**
   * Make the metadir ready for a trial: with `retry`, move the last trial's files into
   * `job.retry/<trial>/`; otherwise remove what an earlier run left.
   *
   * @param retry Keep the last trial's files.
   */
  clean(retry = false): Promise<void> {
    // Synchronous on purpose: nothing (a signal's stop) can land between the check that the
    // run goes on and the trial's start, which would leave the last trial's files moved
    // away with no new trial to replace them.
    try {
      if (retry) {
        // Folders the job could have replaced with links: made sure of, never followed.
        const dir = join(this.retryDir, String(this.trial));
        makeJobFolder(this.retryDir);
        makeJobFolder(dir);
        for (const file of this.trialFiles) {
          ignoreMissing(() =>
            Deno.renameSync(file, join(dir, file.slice(this.metadir.length + 1)))
          );
        }
        return Promise.resolve();
      }
      try {
        Deno.mkdirSync(this.metadir);
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
        for (const file of [...this.trialFiles, this.retryDir]) {
          ignoreMissing(() => Deno.removeSync(file, { recursive: true }));
        }
      }
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Record the limits of a trial that starts. A run keeps them to its end: an array of its
   * exact size, and no object of its own for no limits.
   *
   * @param limits The trial's limits.
   */
  addTrialLimits(limits: Resources): void {
    const none = !Object.keys(limits).length;
    // A first trial without limits shares one array; concat makes one of its exact size
    // ([...a, x] keeps room for 16).
    this.trialLimits = none && !this.trialLimits.length
      ? ONE_TRIAL
      : this.trialLimits.concat(none ? NO_RESOURCES : limits);
  }

  /**
   * Give the job another metadir of the same workdir, before anything is written: the one a
   * finished twin left (`--resume`), or a free one when its own name holds such a twin's.
   *
   * @param name The metadir's name under the workdir.
   */
  placeIn(name: string): void {
    this.#dir = name === String(this.index) ? null : name;
  }

  /** The metadir's name under the workdir. */
  get dir(): string {
    return this.#dir ?? String(this.index);
  }

  /**
   * Read `job.rc`.
   *
   * @returns The exit code the wrapper wrote, or `null` when there is none.
   */
  readRc(): Promise<number | null> {
    // A few bytes: read synchronously, which is cheaper than a thread-pool hop. The job may
    // have put a link there: it is refused, never followed.
    try {
      const text = (readJobFile(this.rcFile, 64) ?? "").trim();
      return Promise.resolve(text === "" || !/^-?\d+$/.test(text) ? null : Number(text));
    } catch (e) {
      return Promise.reject(e);
    }
  }
}

function ignoreMissing(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
