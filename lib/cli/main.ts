/**
 * `clipface`: the headless twin of the notebooks. Every command prints `--help`, fails with one
 * clear line and a non-zero exit, never prompts, and keeps stdout for its result (progress and
 * logs go to stderr).
 */
import { UserError } from '../util/errors.ts';
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

/** What to do about a filesystem error the code did not anticipate (Node's errno codes). */
const FS_FIX: Record<string, string> = {
  ENOTDIR: 'a part of this path is a file, not a folder; point the option at a folder',
  EISDIR: 'this is a folder where a file was expected; give a file path',
  EACCES: 'permission denied; choose a folder you can write to, or fix its permissions',
  EPERM: 'operation not permitted; choose another folder, or fix its permissions',
  EROFS: 'the file system is read-only; choose a writable folder',
  ENOSPC: 'the disk is full; free space, then run again (a checkpoint, if any, lets --resume continue)',
  EDQUOT: 'the disk quota is exceeded; free space, then run again',
  ENAMETOOLONG: 'the path is too long for this file system; choose a shorter folder or name',
  EEXIST: 'something is already there; remove it or choose another path',
  ENOENT: 'not found; check the path',
};

/** A Node filesystem error as one line naming the path and the fix, or undefined for anything else. */
export function fsErrorLine(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException & { dest?: string };
  if (!(err instanceof Error) || !e.code || !FS_FIX[e.code] || !(e.path || e.dest)) return undefined;
  return `${e.path ?? e.dest}: ${FS_FIX[e.code]} (${e.code}${e.syscall ? ` in ${e.syscall}` : ''})`;
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
