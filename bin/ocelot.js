#!/usr/bin/env node
// The published entry point: the compiled CLI lives in dist/ (npm run build).
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    console.error('ocelot: the CLI is not built yet. Run `npm run build` in the package directory first.');
    process.exit(1);
  }
  throw err;
});
