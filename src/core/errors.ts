// Errors that carry the exit code the `xqc` command line maps them to.

/** Base class of the errors a run reports with a specific process exit code. */
export class XqcError extends Error {
  /** The exit code `xqc` leaves with for this error. */
  readonly exitCode: number;
  /**
   * Make an error with its exit code.
   *
   * @param message What went wrong, naming the key, value or file.
   * @param exitCode The exit code for the command line.
   */
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad usage, option or spec: nothing was started (exit 2). */
export class ValidationError extends XqcError {
  /**
   * Make a validation error (exit 2).
   *
   * @param message What is wrong, naming the key, value or file.
   */
  constructor(message: string) {
    super(message, 2);
  }
}

/** The engine, its daemon or the image is unavailable: nothing was started (exit 3). */
export class EngineUnavailableError extends XqcError {
  /**
   * Make an engine error (exit 3).
   *
   * @param message What is missing.
   */
  constructor(message: string) {
    super(message, 3);
  }
}

/** The workdir belongs to a run that is still alive (exit 2). */
export class WorkdirBusyError extends XqcError {
  /**
   * Make a busy-workdir error (exit 2).
   *
   * @param message Which process owns the workdir.
   */
  constructor(message: string) {
    super(message, 2);
  }
}
