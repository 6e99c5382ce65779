// Where `xqc` writes: stdout, stderr, and whether stderr is a terminal.

/** Where `xqc` writes. */
export interface Io {
  /** Write to stdout. */
  out: (text: string) => void;
  /** Write to stderr. */
  err: (text: string) => void;
  /** Whether stderr is a terminal (progress is drawn live then). */
  errIsTerminal: boolean;
}

const encoder = new TextEncoder();

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) written += stream.writeSync(bytes.subarray(written));
}

/** The process's own stdout and stderr. */
export const stdio: Io = {
  out: (text) => writeAll(Deno.stdout, text),
  err: (text) => {
    try {
      writeAll(Deno.stderr, text);
    } catch {
      // stderr went away with the terminal (SIGHUP): the run still ends cleanly.
    }
  },
  errIsTerminal: Deno.stderr.isTerminal(),
};
