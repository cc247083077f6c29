#!/usr/bin/env node
// The `clipface` bin: runs the TypeScript CLI through tsx (a runtime dependency), so a
// fresh clone needs no build step. Equivalent to `npm run -s clipface -- <args>`.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const tsxCli = require.resolve('tsx/cli');
const r = spawnSync(process.execPath, [tsxCli, join(root, 'lib/cli/main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
