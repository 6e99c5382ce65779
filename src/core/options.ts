// Checks of option values, shared by every scheduler and the orchestrator.

/**
 * Check that a value is a whole number within bounds.
 *
 * @param name The option's name, for the message.
 * @param value The value.
 * @param min The least value allowed.
 * @returns The value.
 * @throws {RangeError} When it is not.
 */
export function checkInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new RangeError(
      `Option "${name}" must be a whole number >= ${min}, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * Check that a value is a finite number within bounds.
 *
 * @param name The option's name.
 * @param value The value.
 * @param min The least value allowed.
 * @returns The value.
 * @throws {RangeError} When it is not.
 */
export function checkNumber(name: string, value: unknown, min: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new RangeError(
      `Option "${name}" must be a number >= ${min}, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * Check that a value is a string.
 *
 * @param name The option's name.
 * @param value The value.
 * @returns The value.
 * @throws {TypeError} When it is not.
 */
export function checkString(name: string, value: unknown): string {
  if (typeof value !== "string") {
    throw new TypeError(`Option "${name}" must be a string, not ${typeof value}`);
  }
  return value;
}

/**
 * Check that a value is `true` or `false`.
 *
 * @param name The option's name.
 * @param value The value.
 * @returns The value.
 * @throws {TypeError} When it is not.
 */
export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(`Option "${name}" must be true or false, not ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * A string or a list of strings, as a list.
 *
 * @param name The option's name.
 * @param value The value (`undefined` gives an empty list).
 * @returns The list.
 * @throws {TypeError} For anything else.
 */
export function checkStringList(name: string, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.some((item) => typeof item !== "string")) {
    throw new TypeError(`Option "${name}" must be a string or a list of strings`);
  }
  return [...list];
}

/**
 * Check that an options object has only known keys, so that a misspelt option is an
 * error instead of a silent no-op.
 *
 * @param options The options.
 * @param known The keys that mean something.
 * @param what How to name the options in the message.
 * @throws {TypeError} Naming the first unknown key.
 */
export function checkKnownKeys(
  options: object,
  known: ReadonlySet<string>,
  what: string,
): void {
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw new TypeError(`Unknown option "${key}" for ${what}`);
    }
  }
}
