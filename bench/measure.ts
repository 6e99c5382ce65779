// Timing commands for the benchmark: wall time and peak RSS, and medians.

const log = (text: string) => console.error(`bench: ${text}`);

/** A timed command: its wall time, exit code and peak RSS. */
export interface Timed {
  ms: number;
  code: number;
  peakRssKb: number;
}

/** Run a command, timing it and sampling its peak RSS (VmHWM) until it exits. */
export async function timed(argv: string[], cwd: string, stdinText?: string): Promise<Timed> {
  const start = performance.now();
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd,
    stdin: stdinText === undefined ? "null" : "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  if (stdinText !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdinText));
    await writer.close();
  }
  let peak = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      try {
        const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
        const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
        peak = Math.max(peak, hwm);
      } catch {
        // Exited.
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const out = await child.output();
  const ms = performance.now() - start;
  done = true;
  await sampler;
  if (out.code !== 0) {
    log(
      `${argv.slice(0, 6).join(" ")}… exited ${out.code}: ${
        new TextDecoder().decode(out.stderr).slice(-400)
      }`,
    );
  }
  return { ms, code: out.code, peakRssKb: peak };
}

/** The median of some numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
