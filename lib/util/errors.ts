/**
 * Errors a user can act on. The CLI prints `clipface: <message>` on one line and exits non-zero;
 * notebooks show the message. Messages name the file and say what to do about it.
 */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UserError';
  }
}

/** Throw a UserError unless `cond` holds. */
export function ensure(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new UserError(typeof message === 'function' ? message() : message);
}
