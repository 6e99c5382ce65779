// Pool mode of a scheduler: each job's wrapper runs in one of a pool of long-lived
// containers (or Slurm allocations), through its agent, instead of in one of its own.

import { agentScript, runRequest } from "../../core/agent.ts";
import { writeJobFile } from "../../core/job_files.ts";
import type { Measure } from "../../core/cgroup_script.ts";
import type { Job } from "../../core/job.ts";
import type { Resources } from "../../core/resources.ts";
import { shellJoin } from "../../core/shell.ts";
import { ContainerPool, poolTrial } from "./pool.ts";
import { PoolContainer } from "./container.ts";
import { SubmissionCancelled, type Trial } from "../trial.ts";

/** What pool mode needs of its scheduler. */
export interface PoolSite {
  /** Jobs at once. */
  forks(): number;
  /** Whether the run is stopping. */
  cancelled(): boolean;
  /** A job's current trial's limits. */
  trialResources(job: Job): Resources;
  /** A job's image, as the engine wants it (`null`: bash on the node, no container). */
  imageOf(job: Job): string | null;
  /** A job's variables, as its wrapper gets them. */
  jobEnvs(job: Job): Record<string, string>;
  /** The name of the pool's n-th container. */
  poolName(n: number | "N"): string;
  /** What a pool's container is, for messages: `container`, `Slurm allocation`. */
  readonly poolKind: string;
  /**
   * The argv that starts a pool container running the agent, which talks through the FIFOs
   * that `channel` names, or on its stdin and stdout, and joins the cgroup folders given.
   */
  agentArgv(
    image: string | null,
    resources: Resources,
    name: string,
    cgroup: readonly string[],
  ): string[];
  /**
   * Make a cgroup for a new container that would have none of its own to count its jobs in
   * (its agent joins it), when the run can; `null` otherwise.
   */
  containerCgroup(name: string, resources: Resources): string[] | null;
  /** Free a container's cgroup once the container has ended. */
  freeCgroup(dirs: readonly string[]): void;
  /**
   * Where a pool container's agent talks through FIFOs (their path on this host, without
   * `.in`/`.out`), or `null` for its stdin and stdout.
   */
  channel(name: string): string | null;
  /** The environment of a pool container's client. */
  agentEnv(): Record<string, string>;
  /** Where a pool container's client runs, when not where xqc runs. */
  agentCwd(): string | null;
  /** What a container is called, given its name and its client's pid. */
  nameOf(name: string, pid: number): string;
  /** Remove a container that did not end when its agent was told to. */
  remove(container: PoolContainer): Promise<void>;
  /**
   * How a job is measured in a container (`undefined`: the scheduler's way, for which it
   * may make a cgroup the trial joins).
   */
  measure(job: Job, container: PoolContainer, resources: Resources): Measure | undefined;
  /** Free what measuring a job's trial took. */
  measured(job: Job): void;
  /** Write the job's wrapper. */
  wrappedJobScript(job: Job): Promise<string>;
  /** Register a started trial. */
  track(job: Job, trial: Trial): void;
  /** A job's live trial. */
  trialOf(job: Job): Trial | undefined;
}

/** The jobs of a scheduler in pool mode. */
export class PooledJobs {
  #site: PoolSite;
  #pool: ContainerPool;
  #measures = new Map<Job, Measure>();
  #jobs = new Map<Job, { container: PoolContainer; id: string }>();
  #count = 0;

  /**
   * Pool mode for a scheduler.
   *
   * @param site What it needs of the scheduler.
   * @param recycle A fresh container every this many jobs (0: never).
   */
  constructor(site: PoolSite, recycle: number) {
    this.#site = site;
    this.#pool = new ContainerPool({ size: () => site.forks(), recycle, remove: site.remove });
  }

  /**
   * How a job is measured: from its container's cgroup, or the one the run made for its
   * trial (`undefined`: the scheduler's way).
   *
   * @param job The job.
   * @returns How, while it is being started or runs.
   */
  measureFor(job: Job): Measure | undefined {
    return this.#measures.get(job);
  }

  /**
   * Start a job in a container of the pool: an idle one of its image and limits, or a new one.
   *
   * @param job The job (its metadir exists).
   * @returns Its id: `CONTAINER/INDEX.TRIAL`.
   * @throws {SubmissionCancelled} When the run stopped before it started.
   */
  async submit(job: Job): Promise<string> {
    const site = this.#site;
    const resources = site.trialResources(job);
    const image = site.imageOf(job);
    const key = JSON.stringify([image, resources]);
    const container = await this.#pool.acquire(key, () => {
      const name = site.poolName(++this.#count);
      const cgroup = site.containerCgroup(name, resources) ?? [];
      try {
        const started = new PoolContainer(
          site.agentArgv(image, resources, name, cgroup),
          { env: site.agentEnv(), cwd: site.agentCwd() ?? undefined },
          (pid) => site.nameOf(name, pid),
          key,
          site.poolKind,
          site.channel(name) ?? undefined,
        );
        started.cgroup = cgroup;
        if (cgroup.length) started.exited.then(() => site.freeCgroup(cgroup));
        return started;
      } catch (e) {
        if (cgroup.length) site.freeCgroup(cgroup);
        throw e;
      }
    });
    let done = false;
    const finish = (reuse: boolean) => {
      if (done) return;
      done = true;
      site.measured(job);
      this.#measures.delete(job);
      this.#jobs.delete(job);
      this.#pool.release(container, reuse);
    };
    try {
      const measure = site.measure(job, container, resources);
      if (measure) this.#measures.set(job, measure);
      await site.wrappedJobScript(job);
      const id = `${job.index}.${job.trial}`;
      const envs = site.jobEnvs(job);
      // What the agent is asked, one word a line, the variables by name.
      const words = ["run", id, job.mountedMetadir, ...Object.keys(envs)];
      writeJobFile(
        job.submissionFile,
        [`pool ${site.poolKind}: ${container.name}`, ...words].join("\n") + "\n",
      );
      if (site.cancelled()) throw new SubmissionCancelled();
      const jid = `${container.name}/${id}`;
      const { trial, events } = poolTrial(container, id, jid, finish);
      this.#jobs.set(job, { container, id });
      site.track(job, trial);
      await container.run(id, runRequest(id, job.mountedMetadir, envs), events);
      writeJobFile(job.jidFile, jid + "\n");
      return jid;
    } catch (e) {
      if (!site.trialOf(job)) finish(true);
      throw e;
    }
  }

  /**
   * Tell a pooled job to stop: SIGTERM to its process group in its container.
   *
   * @param job The job.
   * @returns `false` when the job is not in the pool.
   */
  async terminate(job: Job): Promise<boolean> {
    const pooled = this.#jobs.get(job);
    if (!pooled) return false;
    await pooled.container.kill(pooled.id, "TERM");
    return true;
  }

  /**
   * What starting a job does, as `--dry-run` shows it.
   *
   * @param job The job.
   * @returns The pool container's command and the request.
   */
  describe(job: Job): string {
    const site = this.#site;
    const argv = site.agentArgv(
      site.imageOf(job),
      site.trialResources(job),
      site.poolName("N"),
      [],
    );
    const agent = agentScript();
    return `# run by the agent of a pool ${site.poolKind}, started once with:\n# ${
      shellJoin(argv.map((word) => word === agent ? "<the pool agent>" : word))
    }\nrun ${job.index}.${job.trial} ${job.mountedMetadir}`;
  }

  /**
   * Whether a pooled job's container still runs (its client lives).
   *
   * @param jid The job's id, `CONTAINER/INDEX.TRIAL`.
   * @returns `null` when the id is not a pooled job's.
   */
  runs(jid: string): boolean | null {
    const slash = jid.indexOf("/");
    if (slash < 0) return null;
    const name = jid.slice(0, slash);
    for (const { container } of this.#jobs.values()) {
      if (container.name === name) return !container.hasExited;
    }
    return false;
  }

  /**
   * Kill a pooled job: SIGTERM to its process group, again each second, SIGKILL after the
   * grace period.
   *
   * @param job The job.
   * @param graceMs How long it has to end after the first SIGTERM.
   * @param gone Waits up to some ms for the job's trial to end; whether it did.
   * @returns `false` when the job is not in the pool.
   */
  async kill(job: Job, graceMs: number, gone: (ms: number) => Promise<boolean>): Promise<boolean> {
    if (!this.#jobs.has(job)) return false;
    const end = Date.now() + graceMs;
    do {
      await this.terminate(job);
      if (await gone(Math.min(1000, Math.max(1, end - Date.now())))) return true;
    } while (Date.now() < end);
    this.#site.trialOf(job)?.abandon("");
    await gone(5000);
    return true;
  }

  /** No job waits to start any more: the containers close as they fall idle. */
  drain(): void {
    this.#pool.drain();
  }

  /** Close the pool: its containers end, and are removed if they do not. */
  async close(): Promise<void> {
    await this.#pool.close();
  }
}
