/**
 * Loads lib/notebook/index.ts into a tslab kernel:
 *
 *   const nb = await require('../lib/notebook/load.cjs')();
 *
 * Why a CommonJS file: tslab compiles each cell to CommonJS and runs it through `vm` without a
 * dynamic-import callback, so a cell can neither `import()` lib/'s ESM TypeScript nor compile it
 * itself (tslab type-checks imports with its own settings: no `.ts` extensions, no
 * `import.meta`). A required .cjs file can `import()`, and tsx's `tsImport` compiles lib/ as real
 * ESM, exactly as `node --import tsx` does for the CLI and the tests. (tsx 4.23's CommonJS build
 * of `tsImport` resolves its own loader wrongly on Node 20, hence the import of the ESM build.)
 * Loaded once per kernel; later calls return the same module.
 */
'use strict';
const { join } = require('node:path');

let loading;

module.exports = function load() {
  loading ??= import('tsx/esm/api').then(({ tsImport }) => tsImport(join(__dirname, 'index.ts'), __filename));
  return loading;
};
