/** Argument parsing for CLI commands: node's parseArgs, strict, with errors as one clear line. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../util/errors.ts';

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UserError(`${command}: ${(e as Error).message.split('\n')[0]} (see "clipface ${command} --help")`);
  }
}
