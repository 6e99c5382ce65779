// What earlier runs of a workdir left in the batch system: cancelled when a run starts, or,
// resumed, kept for the jobs that take them over (and cancelled when none does).

import type { Logger } from "../../core/logger.ts";
import type { Engine } from "../../engines/engine.ts";
import type { BatchQueue } from "./queue.ts";
import type { BatchSystem } from "./system.ts";

/** What the leftovers need of the batch scheduler. */
export interface LeftoversHost {
  /** The batch system. */
  readonly system: BatchSystem;
  /** The queue. */
  readonly queue: BatchQueue;
  /** The first part of every job name of the workdir. */
  readonly jobNameStem: string;
  /** The workdir. */
  readonly workdir: string;
  /** The engine jobs run in, if any. */
  readonly engine: Engine | null;
  /** Where messages go. */
  readonly logger: Logger;
}

/** An earlier run's live jobs: reaped, or kept for adoption. */
export class Leftovers {
  #host: LeftoversHost;
  #kept = new Set<string>();
  #adopting = new Set<string>();
  #containers: Promise<string[]> | null = null;
  #cancelling: Promise<void> = Promise.resolve();

  /**
   * Leftovers of a scheduler.
   *
   * @param host The scheduler.
   */
  constructor(host: LeftoversHost) {
    this.#host = host;
  }

  /** Start listing the workdir's containers on this host (while the image gets ready). */
  listContainers(): void {
    if (!this.#host.engine) return;
    this.#containers = this.#host.engine.leftovers(this.#host.workdir);
    this.#containers.catch(() => {});
  }

  /**
   * The live jobs of the workdir, by their names.
   *
   * @returns Their ids.
   */
  async live(): Promise<Set<string>> {
    return new Set(await this.#host.queue.liveByName(this.#host.jobNameStem, true));
  }

  /**
   * Keep live jobs for adoption.
   *
   * @param jids Their ids.
   */
  keep(jids: ReadonlySet<string>): void {
    this.#kept = new Set(jids);
  }

  /**
   * A job takes a kept one over: it is watched once the job is submitted.
   *
   * @param jid Its id.
   */
  claim(jid: string): void {
    this.#kept.delete(jid);
    this.#adopting.add(jid);
  }

  /**
   * An adopted job is watched now.
   *
   * @param jid Its id.
   */
  watched(jid: string): void {
    this.#adopting.delete(jid);
  }

  /**
   * Feeding ended: cancel the kept jobs no job took (their jobs changed), and after a stop
   * the adopted ones not yet watched.
   *
   * @param stopped Whether the run stopped.
   */
  feedingEnded(stopped: boolean): void {
    const jids = [...this.#kept, ...(stopped ? this.#adopting : [])];
    this.#kept.clear();
    if (!jids.length) return;
    this.#host.logger.info(
      `cancelling the earlier run's ${this.#host.system.label} jobs no job took: ${
        jids.join(", ")
      }`,
    );
    this.#cancelling = this.#host.queue.cancel(jids).catch(() => {});
  }

  /** Wait until the cancels `feedingEnded` sent are done (the run ends after them). */
  async settled(): Promise<void> {
    await this.#cancelling;
  }

  /** Cancel the adopted jobs not yet watched (the run is being stopped). */
  async cancelWaiting(): Promise<void> {
    if (this.#adopting.size) await this.#host.queue.cancel([...this.#adopting]);
  }

  /**
   * Cancel the jobs an earlier run of this workdir left (by their names) but those
   * kept for adoption, wait until they left the queue (their scripts stop their
   * containers), then remove any container of the workdir that still runs here (none when
   * jobs are kept: theirs run on).
   *
   * @returns What was stopped.
   */
  async reap(): Promise<string[]> {
    const host = this.#host;
    const jids = (await host.queue.liveByName(host.jobNameStem, true))
      .filter((jid) => !this.#kept.has(jid));
    await host.queue.cancelAndWait(jids);
    let names: string[] = [];
    if (host.engine && !this.#kept.size) {
      names = await (this.#containers ?? host.engine.leftovers(host.workdir));
      await host.engine.removeContainers(names);
    }
    this.#containers = null;
    const key = host.system.key;
    return [...jids.map((jid) => `${key} job ${jid}`), ...names.map((name) => `container ${name}`)];
  }
}
