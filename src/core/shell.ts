// Quoting for bash, in one place, and splitting a command line into words as a shell does.

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quote one word for bash so that it reaches the program literally.
 *
 * @param word Any string: spaces, quotes, `$(...)`, backticks and newlines included.
 * @returns The word as bash source, single-quoted unless it needs no quotes.
 * @example
 * ```ts
 * import { shellQuote } from "./shell.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(shellQuote("it's $(here)"), `'it'"'"'s $(here)'`);
 * ```
 */
export function shellQuote(word: string): string {
  if (word === "") return "''";
  if (SAFE.test(word)) return word;
  return `'${word.replaceAll("'", `'"'"'`)}'`;
}

/**
 * Quote an argv for bash, word by word.
 *
 * @param argv The words.
 * @returns One line of bash that runs `argv` as given.
 * @example
 * ```ts
 * import { shellJoin } from "./shell.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(shellJoin(["echo", "a b"]), "echo 'a b'");
 * ```
 */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

/**
 * Quote one word for bash on a single line: as {@linkcode shellQuote}, but a word with a
 * newline or another control character becomes ANSI-C quoted (`$'a\x0ab'`), so that a line
 * protocol can carry it.
 *
 * @param word Any string.
 * @returns The word as bash source, without a newline.
 * @example
 * ```ts
 * import { shellQuoteLine } from "./shell.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(shellQuoteLine("a\nb"), "$'a\\x0ab'");
 * ```
 */
export function shellQuoteLine(word: string): string {
  // deno-lint-ignore no-control-regex
  if (!/[\x00-\x1f\x7f]/.test(word)) return shellQuote(word);
  let out = "$'";
  for (const c of word) {
    const code = c.charCodeAt(0);
    if (c === "\\" || c === "'") out += `\\${c}`;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += c;
  }
  return out + "'";
}

/**
 * Split a command line into words as a POSIX shell does: blanks separate words, single
 * quotes keep everything, double quotes keep everything but `\"`, `\\`, `\$` and `` \` ``
 * escapes, a backslash outside quotes escapes the next character, and an unquoted `#` at
 * the start of a word begins a comment. Nothing is expanded.
 *
 * @param line One command line.
 * @returns The words.
 * @throws {SyntaxError} When a quote is not closed.
 * @example
 * ```ts
 * import { shellSplit } from "./shell.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(shellSplit(`echo "a b" 'c'`), ["echo", "a b", "c"]);
 * ```
 */
export function shellSplit(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      i++;
    } else if (c === "#" && !inWord) {
      break;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new SyntaxError("Unclosed single quote");
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      inWord = true;
      for (;;) {
        if (i >= line.length) throw new SyntaxError("Unclosed double quote");
        const d = line[i];
        if (d === '"') {
          i++;
          break;
        }
        if (d === "\\" && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1])) {
          if (line[i + 1] !== "\n") word += line[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
    } else if (c === "\\") {
      if (i + 1 < line.length && line[i + 1] !== "\n") {
        word += line[i + 1];
        inWord = true;
      }
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

// A line of words bash runs as they are: no expansion, redirection, operator or comment
// can hide in them. Double quotes may hold neither `$`, a backquote, a backslash nor `!`.
const WORD = `(?:[A-Za-z0-9_./:,@%+=-]|'[^']*'|"[^"$\`\\\\!]*")+`;
const PLAIN_LINE = new RegExp(`^[ \\t]*${WORD}(?:[ \\t]+${WORD})*[ \\t]*$`);
// Words that bash takes as keywords in the first place, not as a program's name.
const KEYWORDS = new Set(
  "! [[ ]] { } case coproc do done elif else esac fi for function if in select then time until while"
    .split(" "),
);

/**
 * The argv of a command line that bash would run as plain words (`samtools index a.bam`,
 * `echo 'a b'`), or `null` when bash has more to do with it (a pipe, a redirection, a
 * variable, a glob, a keyword, an assignment): such a line must go through bash. Running
 * the argv gives the same result without starting a shell for the line.
 *
 * @param line The command line.
 * @returns Its words, or `null`.
 * @example
 * ```ts
 * import { plainWords } from "./shell.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(plainWords(`echo 'a b' c`), ["echo", "a b", "c"]);
 * assertEquals(plainWords("echo hi > out.txt"), null);
 * assertEquals(plainWords("A=1 env"), null);
 * ```
 */
export function plainWords(line: string): string[] | null {
  if (!PLAIN_LINE.test(line)) return null;
  const first = line.trimStart();
  // An assignment, or a job spec (`%1`), is not a program's name.
  if (/^[A-Za-z_][A-Za-z0-9_]*=|^%/.test(first)) return null;
  const words = shellSplit(line);
  return KEYWORDS.has(words[0]) ? null : words;
}
