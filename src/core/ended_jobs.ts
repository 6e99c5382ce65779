// The jobs of a run that have ended, kept as rows of typed arrays: about 100 bytes a job
// where a Job object, its usage and its boxed timestamps take 440. A run of 100,000 jobs
// holds its ended jobs in a few MB, and makes a Job of one again only when it is read.

import { grown } from "./grow.ts";
import { Job, type JobCommand } from "./job.ts";
import type { Resources } from "./resources.ts";
import type { JobStatusCode } from "./status.ts";
import type { JobUsage } from "./usage.ts";

// The numbers of a row, NaN for null.
const SUBMITTED = 0;
const TRIAL_SUBMITTED = 1;
const STARTED = 2;
const ENDED = 3;
const USAGE_STARTED = 4;
const USAGE_ENDED = 5;
const PEAK_RSS = 6;
const CPU_MS = 7;
const NUMBERS = 8;

// The flags of a row.
const KEPT = 1;
const KILLED = 2;
const SKIPPED = 4;
const OUT_OF_MEMORY = 8;
const HAS_RC = 16;
const HAS_USAGE = 32;
const MEASURED_CGROUP = 64;
const MEASURED_SAMPLED = 128;

/** What few jobs have: their own envs, image or resources, a placed metadir, a kill. */
interface Rare {
  metadir?: [string, string];
  envs?: Readonly<Record<string, string>>;
  image?: string;
  resources?: Readonly<Resources>;
  memoryFactor?: number;
  killReason?: string;
}

/**
 * The ended jobs of a run, by index.
 *
 * @example
 * ```ts
 * import { EndedJobs } from "./ended_jobs.ts";
 * import { Job } from "./job.ts";
 * import { JobStatus } from "./status.ts";
 * import { assertEquals } from "@std/assert";
 * const job = new Job(7, "true", "/w/7");
 * Object.assign(job, { status: JobStatus.FINISHED, rc: 0, trial: 1, endedAt: 1.7e12 });
 * const ended = new EndedJobs();
 * ended.keep(job);
 * const again = ended.job(7)!;
 * assertEquals([again.metadir, again.rc, again.trial, again.endedAt], ["/w/7", 0, 1, 1.7e12]);
 * ```
 */
export class EndedJobs {
  #flags = new Uint8Array(1024);
  #status = new Uint8Array(1024);
  #rc = new Int32Array(1024);
  #trial = new Int32Array(1024);
  #numbers = new Float64Array(1024 * NUMBERS);
  // The metadir's name when it is a number other than the index (`--resume` placed it), or -1.
  #dir = new Int32Array(1024);
  #cmd: JobCommand[] = [];
  #jid: string[] = [];
  #limits: (readonly Resources[])[] = [];
  #rare = new Map<number, Rare>();
  // The folders that the metadirs of the run's jobs share, on the host and in the job.
  #root: string | null = null;
  #mountedRoot: string | null = null;

  /**
   * Keep a job that ended (its last trial, or skipped, or never started).
   *
   * @param job The job.
   */
  keep(job: Job): void {
    const i = job.index;
    this.#flags = grown(this.#flags, i + 1);
    this.#status = grown(this.#status, i + 1);
    this.#rc = grown(this.#rc, i + 1);
    this.#trial = grown(this.#trial, i + 1);
    this.#numbers = grown(this.#numbers, (i + 1) * NUMBERS);
    this.#dir = grown(this.#dir, i + 1);
    const usage = job.usage;
    this.#flags[i] = KEPT | (job.killed ? KILLED : 0) | (job.skipped ? SKIPPED : 0) |
      (job.ranOutOfMemory ? OUT_OF_MEMORY : 0) | (job.rc !== null ? HAS_RC : 0) |
      (usage ? HAS_USAGE : 0) | (usage?.measured === "cgroup" ? MEASURED_CGROUP : 0) |
      (usage?.measured === "sampled" ? MEASURED_SAMPLED : 0);
    this.#status[i] = job.status;
    this.#rc[i] = job.rc ?? 0;
    this.#trial[i] = job.trial;
    const numbers = [
      job.submittedAt,
      job.trialSubmittedAt,
      job.startedAt,
      job.endedAt,
      usage?.startedAt,
      usage?.endedAt,
      usage?.peakRss,
      usage?.cpuMs,
    ];
    for (const [at, value] of numbers.entries()) {
      this.#numbers[i * NUMBERS + at] = value ?? NaN;
    }
    this.#cmd[i] = job.cmd;
    this.#jid[i] = job.jid;
    this.#limits[i] = job.trialLimits;
    const rare = this.#rareOf(job);
    if (rare) this.#rare.set(i, rare);
    else this.#rare.delete(i);
  }

  /**
   * Whether a job is kept.
   *
   * @param index The job's index.
   * @returns `true` when it is.
   */
  has(index: number): boolean {
    return (this.#flags[index] & KEPT) !== 0;
  }

  /**
   * A kept job's state, in an object of the caller's (none is made).
   *
   * @param index The job's index.
   * @param into Where to put it.
   * @returns `into`, or `undefined` when none is kept at that index.
   */
  state<T extends { status: number; killed: boolean; skipped: boolean }>(
    index: number,
    into: T,
  ): T | undefined {
    const flags = this.#flags[index];
    if (!(flags & KEPT)) return undefined;
    into.status = this.#status[index];
    into.killed = (flags & KILLED) !== 0;
    into.skipped = (flags & SKIPPED) !== 0;
    return into;
  }

  /**
   * A kept job, made anew: a Job of its own, with the state it ended in.
   *
   * @param index The job's index.
   * @returns The job, or `undefined` when none is kept at that index.
   */
  job(index: number): Job | undefined {
    const flags = this.#flags[index];
    if (!(flags & KEPT)) return undefined;
    const rare = this.#rare.get(index) ?? {};
    const dir = this.#dir[index] < 0 ? index : this.#dir[index];
    const [metadir, mounted] = rare.metadir ??
      [`${this.#root}/${dir}`, `${this.#mountedRoot}/${dir}`];
    const job = new Job(index, this.#cmd[index], metadir, mounted, rare.envs, {
      image: rare.image,
      resources: rare.resources,
    });
    const number = (at: number) => {
      const value = this.#numbers[index * NUMBERS + at];
      return Number.isNaN(value) ? null : value;
    };
    job.status = this.#status[index] as JobStatusCode;
    job.rc = flags & HAS_RC ? this.#rc[index] : null;
    job.trial = this.#trial[index];
    job.jid = this.#jid[index];
    job.killed = (flags & KILLED) !== 0;
    job.killReason = rare.killReason ?? null;
    job.skipped = (flags & SKIPPED) !== 0;
    job.ranOutOfMemory = (flags & OUT_OF_MEMORY) !== 0;
    job.memoryFactor = rare.memoryFactor ?? 1;
    job.trialLimits = this.#limits[index];
    job.submittedAt = number(SUBMITTED);
    job.trialSubmittedAt = number(TRIAL_SUBMITTED);
    job.startedAt = number(STARTED);
    job.endedAt = number(ENDED);
    if (flags & HAS_USAGE) {
      const usage: JobUsage = {
        startedAt: number(USAGE_STARTED),
        endedAt: number(USAGE_ENDED),
        peakRss: number(PEAK_RSS),
        cpuMs: number(CPU_MS),
        measured: flags & MEASURED_CGROUP
          ? "cgroup"
          : flags & MEASURED_SAMPLED
          ? "sampled"
          : "none",
      };
      job.usage = usage;
    }
    return job;
  }

  #rareOf(job: Job): Rare | null {
    const rare: Rare = {};
    const [metadir, mounted, dir] = [job.metadir, job.mountedMetadir, job.dir];
    const name = `/${dir}`;
    if (this.#root === null && metadir.endsWith(name) && mounted.endsWith(name)) {
      this.#root = metadir.slice(0, -name.length);
      this.#mountedRoot = mounted.slice(0, -name.length);
    }
    const numbered = /^(0|[1-9]\d{0,8})$/.test(dir);
    this.#dir[job.index] = numbered && dir !== String(job.index) ? Number(dir) : -1;
    if (
      !numbered || metadir !== `${this.#root}${name}` || mounted !== `${this.#mountedRoot}${name}`
    ) rare.metadir = [metadir, mounted];
    if (Object.keys(job.envs).length) rare.envs = job.envs;
    if (job.image !== null) rare.image = job.image;
    if (Object.keys(job.resources).length) rare.resources = job.resources;
    if (job.memoryFactor !== 1) rare.memoryFactor = job.memoryFactor;
    if (job.killReason !== null) rare.killReason = job.killReason;
    return Object.keys(rare).length ? rare : null;
  }
}
