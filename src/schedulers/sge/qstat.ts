// Reading Grid Engine's answers: `qstat -xml` (the queue), `qsub -terse` (a job id),
// `qacct -j` (how a finished job ended) and `qstat -j` (why a job is in error).

/** One job (or array task) as `qstat` lists it. */
export interface QstatEntry {
  /** `12`, or `12.3` for an array task. */
  jid: string;
  /** Its name. */
  name: string;
  /** Its state letters: `qw`, `r`, `Eqw`, `dr`, … */
  state: string;
}

/**
 * The task ids of a `<tasks>` field: `3`, `3-9:1`, `1,4-6:2`.
 *
 * @param field The field.
 * @returns The ids.
 * @example
 * ```ts
 * import { sgeTaskIds } from "./qstat.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(sgeTaskIds("1,4-8:2"), [1, 4, 6, 8]);
 * ```
 */
export function sgeTaskIds(field: string): number[] {
  const ids: number[] = [];
  for (const part of field.split(",")) {
    const match = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!match) continue;
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    const step = Math.max(1, Number(match[3] ?? 1));
    for (let task = from; task <= to; task += step) ids.push(task);
  }
  return ids;
}

function field(block: string, tag: string): string | null {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(block);
  return match ? unescapeXml(match[1]) : null;
}

function unescapeXml(text: string): string {
  return text.replace(
    /&(lt|gt|quot|apos|amp);/g,
    (_, name: string) => ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[name]!,
  );
}

/**
 * The jobs of a `qstat -xml` listing, array tasks one entry each (`12.3`).
 *
 * @param xml The listing.
 * @returns The entries.
 * @example
 * ```ts
 * import { parseQstatXml } from "./qstat.ts";
 * import { assertEquals } from "@std/assert";
 * const xml = `<job_list state="pending"><JB_job_number>5</JB_job_number>
 *   <JB_name>x-1</JB_name><state>qw</state><tasks>2-3:1</tasks></job_list>`;
 * assertEquals(parseQstatXml(xml).map((e) => e.jid), ["5.2", "5.3"]);
 * ```
 */
export function parseQstatXml(xml: string): QstatEntry[] {
  const entries: QstatEntry[] = [];
  for (const match of xml.matchAll(/<job_list\b[^>]*>([\s\S]*?)<\/job_list>/g)) {
    const block = match[1];
    const number = field(block, "JB_job_number");
    const name = field(block, "JB_name");
    const state = field(block, "state");
    if (!number || name === null || !state) continue;
    const tasks = field(block, "tasks");
    if (tasks === null || tasks === "") entries.push({ jid: number, name, state });
    else {for (const task of sgeTaskIds(tasks)) {
        entries.push({ jid: `${number}.${task}`, name, state });
      }}
  }
  return entries;
}

/**
 * The job id `qsub -terse` printed: `12`, or an array's `12.1-10:1` (its id is `12`).
 *
 * @param stdout What qsub printed.
 * @returns The id, or `null` when there is none.
 */
export function parseQsubTerse(stdout: string): string | null {
  const match = /^(\d+)(?:\.\S+)?$/.exec(stdout.trim().split("\n").pop()?.trim() ?? "");
  return match ? match[1] : null;
}

/** How a finished job ended, as `qacct -j` tells it. */
export interface QacctRecord {
  /** `failed`: 0, or a code and its words (`100 : assumedly after job`). */
  failed: string;
  /** `exit_status` of the job script. */
  exitStatus: number | null;
}

/**
 * The record of one job or task in `qacct -j ID` output (the last one that matches).
 *
 * @param text qacct's output.
 * @param task The task id, for an array task.
 * @returns The record, or `null` when qacct has none yet.
 */
export function parseQacct(text: string, task: number | null): QacctRecord | null {
  let found: QacctRecord | null = null;
  for (const block of text.split(/^=+$/m)) {
    const value = (key: string) => new RegExp(`^${key}\\s+(.*)$`, "m").exec(block)?.[1].trim();
    const taskId = value("taskid");
    if (taskId === undefined) continue;
    if (task !== null && taskId !== String(task)) continue;
    const exit = value("exit_status");
    found = {
      failed: value("failed") ?? "0",
      exitStatus: exit === undefined ? null : Number.parseInt(exit, 10),
    };
  }
  return found;
}

/**
 * Grid Engine's reason for a job in error (`Eqw`), from `qstat -j ID`.
 *
 * @param text qstat's output.
 * @returns The first "error reason" line's words, or `""`.
 */
export function errorReason(text: string): string {
  const match = /^error reason\s+\d+:\s*(.*)$/m.exec(text);
  return match ? match[1].trim() : "";
}
