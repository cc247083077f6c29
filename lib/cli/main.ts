/**
 * `clipface`: the headless twin of the notebooks. Every command prints `--help`, fails with one
 * clear line and a non-zero exit, never prompts, and keeps stdout for its result (progress and
 * logs go to stderr).
 */
import { UserError } from '../util/errors.ts';
import { fsErrorLine } from '../util/fs-errors.ts';
import type { Command } from './command.ts';
import { commands } from './commands/index.ts';

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: clipface <command> [options]   (clipface <command> --help for details)',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const cmd: Command | undefined = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`clipface: unknown command "${name}"; run "clipface --help" for the list`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.help);
    return 0;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    const fsLine = fsErrorLine(err);
    if (err instanceof UserError) {
      console.error(`clipface: ${err.message}`);
      process.exitCode = err.exitCode;
    } else if (fsLine) {
      console.error(`clipface: ${fsLine}`);
      process.exitCode = 2;
    } else {
      console.error(`clipface: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exitCode = 70;
    }
  },
);
