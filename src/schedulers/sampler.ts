// The peak memory of jobs that have no cgroup to ask (a run without the rights to make one),
// sampled from /proc: the largest sum of VmHWM over each job's session.

/** How often /proc is read while jobs run. */
const INTERVAL_MS = 500;

/** Samples the peak memory of job sessions, one /proc scan per interval for all. */
export class PeakSampler {
  #peaks = new Map<number, number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * Watch a job's session.
   *
   * @param sid Its session's id (its client's pid).
   */
  watch(sid: number): void {
    this.#peaks.set(sid, 0);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#sample(), INTERVAL_MS);
      Deno.unrefTimer(this.#timer);
    }
    this.#sample();
  }

  /**
   * Stop watching a session.
   *
   * @param sid Its id.
   * @returns The peak seen, in bytes, if any was.
   */
  stop(sid: number): number | undefined {
    const peak = this.#peaks.get(sid);
    this.#peaks.delete(sid);
    if (!this.#peaks.size && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    return peak ? peak : undefined;
  }

  #sample(): void {
    const sums = new Map<number, number>();
    let entries: Iterable<Deno.DirEntry>;
    try {
      entries = Deno.readDirSync("/proc");
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
        const sid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
        if (!this.#peaks.has(sid)) continue;
        const status = Deno.readTextFileSync(`/proc/${entry.name}/status`);
        const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
        sums.set(sid, (sums.get(sid) ?? 0) + kb * 1024);
      } catch {
        // Gone, or not ours to read.
      }
    }
    for (const [sid, sum] of sums) {
      if (sum > (this.#peaks.get(sid) ?? 0)) this.#peaks.set(sid, sum);
    }
  }
}
