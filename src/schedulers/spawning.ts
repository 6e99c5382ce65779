// Schedulers whose jobs are processes of this host (bash, or an engine client): a trial is
// the process, its end is the process's exit, and no status is polled.

import { writeJobFile } from "../core/job_files.ts";
import type { Measure } from "../core/cgroup_script.ts";
import {
  makeTrialCgroup,
  reapCgroups,
  removeTrialCgroup,
  reuseTrialCgroup,
  type TrialCgroup,
} from "../core/cgroups.ts";
import type { Job } from "../core/job.ts";
import {
  type JobProcess,
  signalGroup,
  signalSession,
  spawnJobProcess,
  WORKDIR_TAG,
} from "../core/process.ts";
import { RUNNING_MARKER } from "../core/wrapper.ts";
import { explainProcessEnd } from "./outcome.ts";
import { PeakSampler } from "./sampler.ts";
import { Scheduler } from "./scheduler.ts";
import { SubmissionCancelled, type Trial, type TrialEnd } from "./trial.ts";

/**
 * A scheduler that runs each job's submission argv as a process of this host, in its own
 * process group, and knows the job ended when that process exits.
 */
export abstract class SpawningScheduler extends Scheduler {
  #cgroups = new Map<Job, { dirs: TrialCgroup; memoryBase: number }>();
  // Trial cgroups whose trials ended, to be used again; one made for each trial at once.
  #idleCgroups: TrialCgroup[] = [];
  #cgroupsMade = 0;
  #sampler: PeakSampler | null = null;

  /**
   * Whether a job's trial gets a cgroup of its own where it runs (a docker or podman
   * container, an apptainer container with limits); otherwise the run makes one per trial
   * when it can, or samples /proc.
   *
   * @param _job The job.
   * @returns `false` here: local jobs run on the host.
   */
  ownsCgroup(_job: Job): boolean {
    return false;
  }

  /**
   * How a job's wrapper measures it: in the cgroup the run made for its trial, in its own,
   * or without one.
   *
   * @param job The job.
   * @returns How.
   */
  override measureFor(job: Job): Measure {
    const cgroup = this.#cgroups.get(job);
    if (cgroup) return { kind: "join", ...cgroup };
    return { kind: this.ownsCgroup(job) ? "own" : "none" };
  }

  /** The run has ended: its cgroups' folder goes. */
  override async release(): Promise<void> {
    await reapCgroups(this.workdirKey);
  }

  /**
   * Stop what an earlier run of this workdir left: its marked process groups, and the
   * cgroups it made (with anything still in them).
   *
   * @returns What was stopped.
   */
  override async reapOrphans(): Promise<string[]> {
    const groups = await super.reapOrphans();
    const cgroups = await reapCgroups(this.workdirKey);
    return cgroups ? [...groups, `${cgroups} cgroup(s)`] : groups;
  }

  /**
   * Whether the process's stderr is read (`"piped"`), or it sends its stderr to its stdout
   * itself (`"null"`).
   */
  get clientStderr(): "piped" | "null" {
    return "piped";
  }

  /** How long a killed job's process has to end before its group gets SIGKILL, in ms. */
  get killGraceMs(): number {
    return 3000;
  }

  /**
   * Environment variables for the process that starts the job.
   *
   * @param job The job.
   * @returns Names and values.
   */
  processEnv(job: Job): Record<string, string> {
    return { ...this.envs, ...job.envs };
  }

  /**
   * The id of a started job: its pid by default.
   *
   * @param _job The job.
   * @param pid The pid of the process that was spawned.
   * @returns The id.
   */
  jobId(_job: Job, pid: number): string {
    return String(pid);
  }

  /**
   * Tell a job to stop where it runs (called again each second until its process ends,
   * then its group gets SIGKILL).
   *
   * @param job The job.
   */
  abstract terminate(job: Job): Promise<void>;

  /**
   * Make the cgroup a job's trial joins, when the run can make cgroups.
   *
   * @param job The job.
   * @returns Whether it was made (its wrapper then joins it).
   */
  protected openTrialCgroup(job: Job): boolean {
    for (let dirs = this.#idleCgroups.pop(); dirs; dirs = this.#idleCgroups.pop()) {
      const memoryBase = reuseTrialCgroup(dirs);
      if (memoryBase !== null) {
        this.#cgroups.set(job, { dirs, memoryBase });
        return true;
      }
      removeTrialCgroup(dirs).catch(() => {});
    }
    const dirs = makeTrialCgroup(this.workdirKey, `trial${this.#cgroupsMade++}`);
    if (dirs) this.#cgroups.set(job, { dirs, memoryBase: 0 });
    return dirs !== null;
  }

  /**
   * Free the cgroup of a job's trial, once it has ended.
   *
   * @param job The job.
   */
  protected closeTrialCgroup(job: Job): void {
    const cgroup = this.#cgroups.get(job);
    if (!cgroup) return;
    this.#cgroups.delete(job);
    // What the trial left in its group was killed with its process: the next trial may use
    // the cgroup (it is checked to be empty then).
    this.#idleCgroups.push(cgroup.dirs);
  }

  /**
   * Start a job: write its wrapper and `job.submission`, spawn the process, write
   * `job.jid`. Its end is watched from then on.
   *
   * @param job The job (its metadir must exist).
   * @returns The job's id (container name or pid).
   */
  async submitJob(job: Job): Promise<string> {
    const own = this.ownsCgroup(job);
    const cgroup = !own && this.openTrialCgroup(job);
    if (!cgroup && !own) this.#sampler ??= new PeakSampler();
    await this.wrappedJobScript(job);
    const argv = this.submissionArgv(job);
    writeJobFile(job.submissionFile, argv.join("\n") + "\n");
    if (this.cancelled) throw new SubmissionCancelled();
    let running = () => {};
    const trialRunning = new Promise<void>((resolve) => running = resolve);
    const process = spawnJobProcess(argv, {
      env: { ...this.processEnv(job), [WORKDIR_TAG]: this.workdir },
      marker: RUNNING_MARKER,
      onMarker: () => running(),
      stderr: this.clientStderr,
      cwd: this.clientCwd(job) ?? undefined,
    });
    const jid = this.jobId(job, process.pid);
    const sampler = cgroup || own ? null : this.#sampler;
    sampler?.watch(process.pid);
    this.track(
      job,
      processTrial(process, jid, trialRunning, () => {
        this.closeTrialCgroup(job);
        return sampler?.stop(process.pid);
      }),
    );
    writeJobFile(job.jidFile, jid + "\n");
    return jid;
  }

  /**
   * Kill a job: {@linkcode terminate} it, again each second until its process has gone,
   * and SIGKILL its process group once the grace period is over.
   *
   * @param job The job.
   */
  async killJob(job: Job): Promise<void> {
    const end = Date.now() + this.killGraceMs;
    do {
      await this.terminate(job);
      if (await this.waitGone(job, Math.min(1000, Math.max(1, end - Date.now())))) return;
    } while (Date.now() < end);
    this.trialOf(job)?.abandon("");
    await this.waitGone(job, 5000);
  }
}

/**
 * A trial that is a process of this host. When the process exits, what it left in its
 * group is killed too; when it was killed by a signal (its wrapper could not clean up), so
 * is everything in its session, the command's own group included.
 *
 * @param process The process.
 * @param jid The job's id.
 * @param running Resolves when the wrapper prints its running marker.
 * @param finish Called when the process has exited: frees the trial's cgroup, and gives the
 *   peak memory sampled, if it was.
 * @returns The trial.
 */
function processTrial(
  process: JobProcess,
  jid: string,
  running: Promise<void>,
  finish: () => number | undefined,
): Trial {
  let abandoned: string | null = null;
  const ended = process.exited.then((status): TrialEnd => {
    if (status.signal) signalSession(process.pid, "SIGKILL");
    else signalGroup(process.pid, "SIGKILL");
    return {
      sawRunning: process.sawMarker,
      signal: status.signal,
      why: abandoned || explainProcessEnd(status, process.output, process.sawMarker),
      sampledPeak: finish(),
    };
  });
  return {
    jid,
    running,
    ended,
    get hasEnded() {
      return process.hasExited;
    },
    abandon(why: string) {
      abandoned = why;
      signalSession(process.pid, "SIGKILL");
    },
  };
}
