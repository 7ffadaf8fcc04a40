// The local @connections endpoint against the real AWS SDK client (the Lambda functions'
// `PostToConnection`), unchanged but for its endpoint: a live connection receives the
// posted frame, an unknown one is 410 Gone (GoneException).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startGateway } from './lib/gateway.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let gw;

before(async () => { gw = await startGateway({ server: 'reference', instances: 2 }); });
after(async () => { await gw?.stop(); });

test('the SDK client gets GoneException for an unknown connection', () => {
  const bin = path.join(repoRoot, 'target/debug/examples/post_to_connection');
  const r = spawnSync(bin, [gw.base, 'no-such-connection', '{"jsonrpc":"2.0","method":"x"}'], {
    encoding: 'utf8', timeout: 30_000, env: { ...process.env, AWS_ACCESS_KEY_ID: gw.connectionsKey, AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'gone');
});
