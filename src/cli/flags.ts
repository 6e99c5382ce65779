// Parsing the flags of `xqc` commands: std's parser, strict about unknown options and
// about values, with one error line naming the flag.

import { parseArgs } from "@std/cli";
import { resolve } from "@std/path/posix";
import { ValidationError } from "../core/errors.ts";
import { isEnvName } from "../core/job.ts";

/** Parsed flags: values by long name, positionals in `_`, what follows `--` in `"--"`. */
export type Flags = Record<string, unknown> & { _: (string | number)[]; "--"?: string[] };

/** What flags a command takes. */
export interface FlagSpec {
  /** Flags with a value. */
  string?: string[];
  /** Switches. */
  boolean?: string[];
  /** Switches that also have a `--no-` form; left undefined when not given. */
  negatable?: string[];
  /** Flags that may repeat. */
  collect?: string[];
  /** Short names. */
  alias?: Record<string, string>;
}

/**
 * Parse a command's flags. Unknown options are an error; a negative number after an option
 * that takes a value is its value (`-n -1`); with `stopEarly`, everything from the first
 * word that is not an option is the job's command, not flags.
 *
 * @param args The arguments after the command.
 * @param spec The flags the command takes.
 * @param command The command's name, for messages.
 * @param stopEarly Stop at the first positional word.
 * @returns The flags.
 * @throws {ValidationError} For an unknown option.
 */
export function parseFlags(
  args: string[],
  spec: FlagSpec,
  command: string,
  stopEarly = false,
): Flags {
  const negatable = spec.negatable ?? [];
  const known = new Set([
    ...(spec.string ?? []),
    ...(spec.boolean ?? []),
    ...negatable,
    ...(spec.collect ?? []),
    ...Object.keys(spec.alias ?? {}),
    "help",
    "h",
  ]);
  const takesValue = new Set([...(spec.string ?? []), ...(spec.collect ?? [])]);
  const longName = (flag: string) =>
    flag.startsWith("--") ? flag.slice(2) : spec.alias?.[flag.slice(1)] ?? flag.slice(1);
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const isOption = arg.startsWith("-") && arg !== "-";
    if (arg === "--" || (stopEarly && !isOption)) {
      // The rest is the job's command: it is not read as flags.
      joined.push(...args.slice(i));
      break;
    }
    if (/^--?[A-Za-z][\w-]*$/.test(arg) && takesValue.has(longName(arg)) && i + 1 < args.length) {
      joined.push(`--${longName(arg)}=${args[++i]}`);
    } else joined.push(arg);
  }
  return parseArgs(joined, {
    string: spec.string,
    boolean: [...(spec.boolean ?? []), ...negatable, "help"],
    negatable,
    default: Object.fromEntries(negatable.map((name) => [name, undefined])),
    collect: spec.collect,
    alias: { ...(spec.alias ?? {}), h: "help" },
    stopEarly,
    "--": true,
    unknown: (arg: string, key?: string) => {
      if (key !== undefined && !known.has(key)) {
        throw new ValidationError(
          `Unknown option "${arg.split("=")[0]}" for "xqc ${command}" (see xqc ${command} --help)`,
        );
      }
      return true;
    },
  }) as Flags;
}

/**
 * A flag's single value.
 *
 * @param flags The flags.
 * @param name The flag's long name.
 * @returns The value, or `undefined` when it was not given.
 * @throws {ValidationError} When it is given twice or without a value.
 */
export function flagString(flags: Flags, name: string): string | undefined {
  const value = flags[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    throw new ValidationError(`Option --${name} is given more than once`);
  }
  if (typeof value !== "string" || value === "") {
    throw new ValidationError(`Option --${name} needs a value`);
  }
  return value;
}

/**
 * A flag's value as a number.
 *
 * @param flags The flags.
 * @param name The flag's long name.
 * @param integer Whether it must be whole.
 * @returns The number, `NaN` when the text is not one, or `undefined` when not given.
 */
export function flagNumber(flags: Flags, name: string, integer: boolean): number | undefined {
  const text = flagString(flags, name);
  if (text === undefined) return undefined;
  const pattern = integer ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/;
  return pattern.test(text) ? Number(text) : NaN;
}

/**
 * A repeatable flag's values.
 *
 * @param flags The flags.
 * @param name The flag's long name.
 * @returns The values, or `undefined` when it was not given.
 * @throws {ValidationError} For a value that is empty.
 */
export function flagList(flags: Flags, name: string): string[] | undefined {
  const value = flags[name];
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return undefined;
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => {
    if (typeof item !== "string" || item === "") {
      throw new ValidationError(`Option --${name} needs a value`);
    }
    return item;
  });
}

/**
 * Read `-e NAME=VALUE`, or `-e NAME` taking the value from this environment.
 *
 * @param text The flag's value.
 * @returns The name and value.
 * @throws {ValidationError} For a bad name, or a name not set here.
 */
export function parseEnvFlag(text: string): [string, string] {
  const at = text.indexOf("=");
  const name = at < 0 ? text : text.slice(0, at);
  if (!isEnvName(name)) {
    throw new ValidationError(`Option --env "${text}": bad env name "${name}"`);
  }
  if (at >= 0) return [name, text.slice(at + 1)];
  const value = Deno.env.get(name);
  if (value === undefined) throw new ValidationError(`Option --env "${name}": it is not set here`);
  return [name, value];
}

/**
 * The workdir a command names with `-w` (default `./.xqute`), absolute.
 *
 * @param flags The flags.
 * @returns The path.
 */
export function workdirOf(flags: Flags): string {
  return resolve(flagString(flags, "workdir") ?? "./.xqute");
}

/**
 * The workdir of `status`, `logs` or `kill`, which must exist.
 *
 * @param flags The flags.
 * @returns The path.
 * @throws {ValidationError} When it does not exist or is not a directory.
 */
export async function existingWorkdir(flags: Flags): Promise<string> {
  const workdir = workdirOf(flags);
  try {
    if (!(await Deno.stat(workdir)).isDirectory) {
      throw new ValidationError(`Workdir "${workdir}" is not a directory`);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ValidationError(`Workdir "${workdir}" does not exist`);
    }
    throw e;
  }
  return workdir;
}
