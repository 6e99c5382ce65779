// Running an engine's pull: its progress lines go to the logger, its failure is exit 3.

import { TextLineStream } from "@std/streams";
import { EngineUnavailableError } from "../core/errors.ts";
import type { PullOptions } from "./engine.ts";

/** How long a pull may take. */
const PULL_DEADLINE_MS = 60 * 60 * 1000;

/**
 * Run a pull command, telling its progress line by line.
 *
 * @param argv The pull command.
 * @param ref The image, for messages.
 * @param engine The engine's name, for messages.
 * @param options Where progress goes.
 * @throws {EngineUnavailableError} With the engine's last words, when the pull fails.
 */
export async function pullWithProgress(
  argv: readonly string[],
  ref: string,
  engine: string,
  options: Pick<PullOptions, "logger">,
): Promise<void> {
  const start = performance.now();
  options.logger.info(`pulling ${ref} (${engine})`);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), PULL_DEADLINE_MS);
  const said: string[] = [];
  const tell = async (stream: ReadableStream<Uint8Array>) => {
    const lines = stream.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
    for await (const line of lines as AsyncIterable<string>) {
      if (!line.trim()) continue;
      said.push(line.trim());
      options.logger.info(`pulling ${ref}: ${line.trim()}`);
    }
  };
  const [status] = await Promise.all([child.status, tell(child.stdout), tell(child.stderr)]);
  clearTimeout(timer);
  if (!status.success) {
    throw new EngineUnavailableError(
      `Could not pull "${ref}" with ${engine}: ${said.at(-1) ?? `exit code ${status.code}`}`,
    );
  }
  options.logger.info(`pulled ${ref} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
}
