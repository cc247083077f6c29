/** The shape every `clipface <command>` module exports; main.ts dispatches on `name`. */
export interface Command {
  /** e.g. "embed" or "models" */
  name: string;
  /** one line for `clipface --help` */
  summary: string;
  /** full `--help` text */
  help: string;
  /** runs with the arguments after the command name; resolves to the exit code */
  run(argv: string[]): Promise<number>;
}
