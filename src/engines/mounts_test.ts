import { assertEquals, assertThrows } from "../../tests/assert.ts";
import {
  hostPathOf,
  type Mount,
  MOUNTED_ROOT,
  parseVolume,
  type PathKind,
  resolveVolumes,
  sanitizeMounts,
} from "./mounts.ts";

const fs: Record<string, PathKind> = {
  "/data": "dir",
  "/data/sub": "dir",
  "/ref": "dir",
  "/ref/genome.fa": "file",
  "/other": "dir",
};
const kind = (path: string) => fs[path] ?? null;

Deno.test("parseVolume() reads host:container[:options] and keeps the options", () => {
  assertEquals(parseVolume("/data:/in:ro", kind).mount, {
    host: "/data",
    container: "/in",
    options: "ro",
  });
  assertEquals(parseVolume("/data:/in", kind).mount, {
    host: "/data",
    container: "/in",
    options: "",
  });
  assertEquals(parseVolume("/data:/in:ro,z", kind).mount.options, "ro,z");
  assertEquals(parseVolume("/data", kind).mount, {
    host: "/data",
    container: "/data",
    options: "",
  });
});

Deno.test("parseVolume() resolves a relative host path against the base folder", () => {
  assertEquals(parseVolume("sub:/s", kind, "/data").mount.host, "/data/sub");
});

Deno.test("parseVolume() does not take options for a path", () => {
  assertThrows(() => parseVolume("/data:/in:/x", kind), TypeError, `unknown mount option "/x"`);
  assertThrows(() => parseVolume("/data:/in:rox", kind), TypeError, `unknown mount option "rox"`);
});

Deno.test("parseVolume() rejects malformed volumes and missing host paths", () => {
  assertThrows(() => parseVolume("", kind), TypeError, "empty");
  assertThrows(() => parseVolume("/data:", kind), TypeError, "is not host:container");
  assertThrows(() => parseVolume("/a:/b:ro:x", kind), TypeError, "is not host:container");
  assertThrows(
    () => parseVolume("/data:rel", kind),
    TypeError,
    `container path "rel" is not absolute`,
  );
  assertThrows(() => parseVolume("/nope:/in", kind), TypeError, `host path "/nope" does not exist`);
});

Deno.test("parseVolume() mounts a named folder under NAMED_MOUNTS with its variable", () => {
  const { mount, env } = parseVolume("REF=/ref", kind);
  assertEquals(mount, { host: "/ref", container: `${MOUNTED_ROOT}/NAMED_MOUNTS/REF`, options: "" });
  assertEquals(env, ["REF", `${MOUNTED_ROOT}/NAMED_MOUNTS/REF`]);
});

Deno.test("parseVolume() mounts a named file's folder and points the variable at the file", () => {
  const { mount, env } = parseVolume("GENOME=/ref/genome.fa:ro", kind);
  assertEquals(mount, {
    host: "/ref",
    container: `${MOUNTED_ROOT}/NAMED_MOUNTS/GENOME/ref`,
    options: "ro",
  });
  assertEquals(env, ["GENOME", `${MOUNTED_ROOT}/NAMED_MOUNTS/GENOME/ref/genome.fa`]);
  assertThrows(() => parseVolume("X=/missing", kind), TypeError, `"/missing" does not exist`);
});

Deno.test("sanitizeMounts() rejects two host paths for one mount point", () => {
  assertThrows(
    () =>
      sanitizeMounts([
        { host: "/data", container: "/in", options: "" },
        { host: "/other", container: "/in", options: "" },
      ]),
    TypeError,
    `Mount point "/in" is given two host paths: "/data" and "/other"`,
  );
});

Deno.test("sanitizeMounts() keeps one of two equal mounts and drops nested duplicates", () => {
  const a: Mount = { host: "/data", container: "/d", options: "" };
  const nested: Mount = { host: "/data/sub", container: "/d/sub", options: "" };
  const elsewhere: Mount = { host: "/data/sub", container: "/s", options: "" };
  const readOnly: Mount = { host: "/data/sub", container: "/d/sub2", options: "ro" };
  assertEquals(sanitizeMounts([a, { ...a }, nested, elsewhere, readOnly]), [
    a,
    elsewhere,
    readOnly,
  ]);
});

Deno.test("resolveVolumes() collects named mounts and rejects a name given twice", () => {
  const { mounts, pathEnvs } = resolveVolumes(["/data:/d:ro", "REF=/ref"], kind);
  assertEquals(mounts.length, 2);
  assertEquals(pathEnvs, { REF: `${MOUNTED_ROOT}/NAMED_MOUNTS/REF` });
  assertThrows(
    () => resolveVolumes(["REF=/ref", "REF=/data"], kind),
    TypeError,
    `"REF" is given twice`,
  );
});

Deno.test("hostPathOf() maps a container path back through the deepest mount", () => {
  const mounts: Mount[] = [
    { host: "/data", container: "/d", options: "" },
    { host: "/other", container: "/d/x", options: "" },
  ];
  assertEquals(hostPathOf(mounts, "/d/y/z"), "/data/y/z");
  assertEquals(hostPathOf(mounts, "/d/x/1"), "/other/1");
  assertEquals(hostPathOf(mounts, "/d"), "/data");
  assertEquals(hostPathOf(mounts, "/dx"), null);
});
