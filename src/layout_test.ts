// The house rules, checked on the source: each folder imports only from the folders below
// it, no module imports itself through others, and no file grows past ~400 lines.

import { assertEquals } from "../tests/assert.ts";
import { dirname, fromFileUrl, join, relative, resolve } from "@std/path";

const SRC = dirname(fromFileUrl(import.meta.url));
/** Bottom first: a folder may import from itself and the folders before it. */
const LAYERS = ["core", "engines", "schedulers", "run", "report", "cli"];

async function sources(dir = SRC): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...await sources(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) files.push(path);
  }
  return files.sort();
}

function importsOf(path: string, text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gms)) {
    found.push(resolve(dirname(path), match[1]));
  }
  return found;
}

function layerOf(path: string): number {
  return LAYERS.indexOf(relative(SRC, path).split("/")[0]);
}

Deno.test("src/: each folder imports only from itself and the folders below it", async () => {
  const wrong: string[] = [];
  for (const file of await sources()) {
    for (const target of importsOf(file, await Deno.readTextFile(file))) {
      if (layerOf(target) < 0 || layerOf(target) > layerOf(file)) {
        wrong.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
      }
    }
  }
  assertEquals(wrong, []);
});

Deno.test("src/: no import circles", async () => {
  const graph = new Map<string, string[]>();
  for (const file of await sources()) {
    graph.set(file, importsOf(file, await Deno.readTextFile(file)));
  }
  const circles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      circles.push(
        [...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(" -> "),
      );
      return;
    }
    state.set(file, "open");
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  assertEquals(circles, []);
});

Deno.test("src/ and cli.ts: no file over 420 lines", async () => {
  const long: string[] = [];
  for (const file of [...await sources(), join(SRC, "..", "cli.ts")]) {
    const lines = (await Deno.readTextFile(file)).split("\n").length;
    if (lines > 420) long.push(`${relative(SRC, file)} (${lines} lines)`);
  }
  assertEquals(long, []);
});

Deno.test("src/: library code writes no console output (it goes through the logger)", async () => {
  const writers: string[] = [];
  for (const file of await sources()) {
    if (relative(SRC, file).startsWith("cli/")) continue;
    const text = await Deno.readTextFile(file);
    // Doc examples aside: only code lines count.
    const code = text.split("\n").filter((line) => !/^\s*(\*|\/\/)/.test(line)).join("\n");
    if (/console\.(log|error|warn|info)/.test(code)) writers.push(relative(SRC, file));
  }
  assertEquals(writers, []);
});
