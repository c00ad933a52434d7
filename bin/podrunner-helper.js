#!/usr/bin/env node
// The program of the helper image: runs as the `helper` init container and the `uploader` container.
// The uploader ignores the first SIGTERM from its first instant, before the rest of the program loads.
if (process.argv[2] === 'upload') (await import('../helper/signals.ts')).installSigtermCounter();
await import('../helper/main.ts');
