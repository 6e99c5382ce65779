import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { shellJoin, shellQuote, shellSplit } from "./shell.ts";

Deno.test("shellQuote() leaves safe words bare and quotes the rest once", () => {
  assertEquals(shellQuote("abc-1.2/x"), "abc-1.2/x");
  assertEquals(shellQuote(""), "''");
  assertEquals(shellQuote("a b"), "'a b'");
  assertEquals(shellQuote("it's"), `'it'"'"'s'`);
});

Deno.test("shellJoin() round-trips through bash for hostile words", async () => {
  const words = [
    "$(touch /tmp/xqc-pwned)",
    "`id`",
    "a;b",
    "new\nline",
    `"dq"`,
    "it's",
    "",
    " ",
    "\\",
  ];
  const line = shellJoin(["printf", "%s\\0", ...words]);
  const out = await new Deno.Command("bash", { args: ["-c", line], stdout: "piped" }).output();
  const got = new TextDecoder().decode(out.stdout).split("\0").slice(0, -1);
  assertEquals(got, words);
});

Deno.test("shellSplit() splits as a shell splits words, expanding nothing", () => {
  assertEquals(shellSplit(`echo "a b" 'c d' e\\ f $(x) # comment`), [
    "echo",
    "a b",
    "c d",
    "e f",
    "$(x)",
  ]);
  assertEquals(shellSplit(`a"b"'c'`), ["abc"]);
  assertEquals(shellSplit(`"x \\" \\$y"`), [`x " $y`]);
  assertEquals(shellSplit("   "), []);
  assertEquals(shellSplit(`''`), [""]);
});

Deno.test("shellSplit() rejects an unclosed quote", () => {
  assertThrows(() => shellSplit(`echo 'oops`), SyntaxError, "single quote");
  assertThrows(() => shellSplit(`echo "oops`), SyntaxError, "double quote");
});
