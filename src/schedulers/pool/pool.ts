// A pool of long-lived containers, one a fork slot: jobs run in them through their agents,
// without a container start of their own.

import type { PoolContainer, PoolJobEvents } from "./container.ts";
import type { Trial, TrialEnd } from "../trial.ts";

/** How a pool gets and gets rid of containers. */
export interface PoolHooks {
  /** How many containers may run jobs at once (`forks`). */
  size(): number;
  /** A fresh container every this many jobs; 0 keeps them for the whole run. */
  recycle: number;
  /**
   * Remove a container that did not end when its agent was told to.
   *
   * @param container The container.
   */
  remove(container: PoolContainer): Promise<void>;
}

/** How long a closed container has to end before it is removed by force. */
const CLOSE_WAIT_MS = 10_000;

/** The containers of a pool, each running one job at a time. */
export class ContainerPool {
  #hooks: PoolHooks;
  #containers = new Set<PoolContainer>();
  #closing = new Set<Promise<void>>();
  #draining = false;

  /**
   * An empty pool.
   *
   * @param hooks How containers start and go.
   */
  constructor(hooks: PoolHooks) {
    this.#hooks = hooks;
  }

  /** The containers that live, by name. */
  get names(): string[] {
    return [...this.#containers].filter((c) => !c.hasExited).map((c) => c.name);
  }

  /**
   * A container for a job: an idle one of the job's key, or a new one (an idle container of
   * another key makes room for it when the pool is full).
   *
   * @param key The job's image and limits.
   * @param start Starts a container for jobs of the key.
   * @returns The container, ready and marked busy.
   * @throws {Error} When a new container does not start.
   */
  async acquire(key: string, start: () => PoolContainer): Promise<PoolContainer> {
    const live = [...this.#containers].filter((c) => !c.retired);
    const idle = live.find((c) => !c.busy && c.key === key);
    if (idle) {
      idle.busy = true;
      return idle;
    }
    if (live.length >= this.#hooks.size()) {
      const other = live.find((c) => !c.busy);
      if (other) this.#retire(other);
    }
    const container = start();
    container.busy = true;
    this.#containers.add(container);
    container.exited.then(() => this.#containers.delete(container));
    try {
      await container.ready;
    } catch (e) {
      this.#containers.delete(container);
      throw new Error(
        `the pool ${container.kind} ${container.name} did not start: ${
          e instanceof Error ? e.message : e
        }`,
      );
    }
    return container;
  }

  /**
   * A job is done with its container: it takes the next job, unless it has run its share
   * (`recycle`), has ended, the job was given up (it may still be dying in there), or no
   * job waits any more.
   *
   * @param container The container.
   * @param reuse Whether the container may take another job.
   */
  release(container: PoolContainer, reuse: boolean): void {
    container.busy = false;
    const recycle = this.#hooks.recycle;
    if (
      !reuse || this.#draining || container.hasExited ||
      (recycle > 0 && container.jobsStarted >= recycle)
    ) {
      this.#retire(container);
    }
  }

  /**
   * No job waits for a container any more: the idle ones close now, while the last jobs
   * run, and the others as their jobs end (a retry after that gets a fresh container).
   */
  drain(): void {
    this.#draining = true;
    for (const container of this.#containers) {
      if (!container.busy) this.#retire(container);
    }
  }

  /**
   * Close every container: their agents end their jobs and exit; what does not end in time
   * is removed by force.
   */
  async close(): Promise<void> {
    for (const container of this.#containers) this.#retire(container);
    while (this.#closing.size) await Promise.all(this.#closing);
  }

  #retire(container: PoolContainer): void {
    if (container.retired && !this.#containers.has(container)) return;
    container.retired = true;
    this.#containers.delete(container);
    const closing = (async () => {
      if (!(await container.close(CLOSE_WAIT_MS))) {
        await this.#hooks.remove(container).catch(() => {});
        container.killClient();
        await container.exited;
      }
    })().catch(() => {});
    this.#closing.add(closing);
    closing.finally(() => this.#closing.delete(closing));
  }
}

/**
 * A job's trial in a pool container: it runs when its wrapper says `start`, ends when it
 * says `end` (or when the container ends). Given up, it ends at once and its process group
 * gets SIGKILL.
 *
 * @param container The container.
 * @param id The job's id in the pool.
 * @param jid The job's id, as `job.jid` holds it.
 * @param finish Called once when the trial ends, with whether the container may be reused.
 * @returns The trial, and the events the container calls.
 */
export function poolTrial(
  container: PoolContainer,
  id: string,
  jid: string,
  finish: (reuse: boolean) => void,
): { trial: Trial; events: PoolJobEvents } {
  let running = () => {};
  let end = (_end: TrialEnd) => {};
  let hasEnded = false;
  let sawRunning = false;
  const ended = new Promise<TrialEnd>((resolve) => end = resolve);
  const over = (value: TrialEnd, reuse: boolean) => {
    if (hasEnded) return;
    hasEnded = true;
    finish(reuse);
    end(value);
  };
  const trial: Trial = {
    jid,
    running: new Promise<void>((resolve) => running = resolve),
    ended,
    get hasEnded() {
      return hasEnded;
    },
    abandon(why: string) {
      container.kill(id, "KILL");
      over({ sawRunning, signal: "SIGKILL", why }, false);
    },
  };
  const events: PoolJobEvents = {
    onStart() {
      sawRunning = true;
      running();
    },
    onEnd(value: TrialEnd) {
      over(value, !value.lost);
    },
  };
  return { trial, events };
}
