#!/usr/bin/env node
// The `clipface` bin: runs the TypeScript CLI with tsx as a loader (a runtime dependency), so a
// fresh clone needs no build step. Equivalent to `npm run -s clipface -- <args>`.
//
// One process does the work: `node --import tsx`, not the `tsx` command, whose own parent process
// SIGKILLs a child that does not answer a signal within 60 ms (a training step takes longer), so
// Ctrl-C used to end a run at once without its checkpoint. This wrapper never exits before the
// child: it passes on the signals sent to it alone (kill, a scheduler) and exits with its status.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(root, 'lib/cli/main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 1)));
