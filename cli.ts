// The `xqc` command line's entry point (`deno compile` builds the binary from it).

import { main } from "./src/cli/main.ts";

export { main };
export type { Io } from "./src/cli/io.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
