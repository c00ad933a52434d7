#!/usr/bin/env node
// The program of the helper image: runs as the `helper` init container and the `uploader` container.
await import('../helper/main.ts');
