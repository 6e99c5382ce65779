// Temporary folders for tests, removed when the test file's module unloads (each test file
// is a module of its own), so that a suite run leaves nothing in /tmp.

const made: string[] = [];

globalThis.addEventListener("unload", () => {
  for (const dir of made.splice(0)) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Already gone, or held by something the test left: nothing more to do here.
    }
  }
});

/**
 * A fresh temporary folder, removed once the test file has run.
 *
 * @param prefix The folder name's start.
 * @returns Its path.
 */
export async function tempDir(prefix = "xqc-test-"): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  made.push(dir);
  return dir;
}
