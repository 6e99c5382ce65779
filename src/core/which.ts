// Finding a program on PATH, as a shell would.

/**
 * Find a program on PATH, as a shell would.
 *
 * @param bin A name, or a path (returned when it is an executable file).
 * @returns Its path, or `null` when there is none.
 */
export function findOnPath(bin: string): string | null {
  const isExecutable = (path: string) => {
    try {
      const info = Deno.statSync(path);
      return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
    } catch {
      return false;
    }
  };
  if (bin.includes("/")) return isExecutable(bin) ? bin : null;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && isExecutable(`${dir}/${bin}`)) return `${dir}/${bin}`;
  }
  return null;
}
