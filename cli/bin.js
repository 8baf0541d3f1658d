#!/usr/bin/env node
// The `layer-relay` command. The sources are TypeScript run by Node's type stripping (Node >= 24).
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(`layer-relay: needs Node.js 24 or newer (this is ${process.version})\n`);
  process.exit(2);
}
const { main } = await import('./main.ts');
await main();
