// The demo batch: GC content of twelve generated FASTA files, one container job each,
// four at a time, through the real `xqc` command line.

import { join } from "@std/path";
import { main } from "../cli.ts";
import { ensureImage, type ImageEngine, imageFor } from "../tests/image.ts";

const engine = (Deno.args[0] ?? "docker") as ImageEngine;
const why = await ensureImage(engine);
if (why) {
  console.error(`demo: cannot make the demo image for ${engine}: ${why}`);
  Deno.exit(3);
}

const dir = await Deno.makeTempDir({ prefix: "xqc-demo-" });
const data = join(dir, "samples");
await Deno.mkdir(data);
let seed = 7;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const jobs: string[] = [];
for (let i = 1; i <= 12; i++) {
  const bias = 0.3 + i * 0.03;
  let sequence = "";
  for (let n = 0; n < 6000; n++) {
    sequence += random() < bias ? "GC"[n % 2] : "AT"[n % 2];
  }
  const lines = sequence.match(/.{1,60}/g)!.join("\n");
  await Deno.writeTextFile(join(data, `sample${i}.fa`), `>sample${i}\n${lines}\n`);
  jobs.push(`  - awk -f "$SAMPLES/gc.awk" "$SAMPLES/sample${i}.fa"`);
}
await Deno.writeTextFile(
  join(data, "gc.awk"),
  `!/^>/ { n += length($0); gc += gsub(/[GC]/, "") }
END { printf "%s\\t%d bp\\tGC %.1f%%\\n", FILENAME, n, 100 * gc / n }
`,
);
const workdir = join(dir, "workdir");
const spec = join(dir, "gc.yaml");
await Deno.writeTextFile(
  spec,
  `# GC content of each sample, one container job per sample
image: ${imageFor(engine)}
bin: ${engine}
forks: 4
workdir: ${workdir}
volumes: ["SAMPLES=${data}:ro"]
errorStrategy: retry
numRetries: 2
jobs:
${jobs.join("\n")}
`,
);
console.error(`demo: ${spec}\n${await Deno.readTextFile(spec)}`);
console.error(`demo: xqc run -f ${spec}`);
const code = await main(["run", "-f", spec]);
console.error(`\ndemo: xqc status -w ${workdir}`);
await main(["status", "-w", workdir]);
console.error(`\ndemo: the results (job.stdout of each job)`);
for (let i = 0; i < jobs.length; i++) {
  console.log((await Deno.readTextFile(join(workdir, String(i), "job.stdout"))).trimEnd());
}
Deno.exit(code);
