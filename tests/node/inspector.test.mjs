// The MCP Inspector's CLI (the usual way to poke at a server) against the local gateway over
// Streamable HTTP, and the README's desktop-client snippets (docs/clients/*.json, the
// `mcpServers` format of Claude Desktop, Claude Code and the Inspector) tried through it:
// the stdio one runs the gateway binary as a desktop client would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { startGateway } from './lib/gateway.mjs';

const here = import.meta.dirname;
const repoRoot = path.resolve(here, '../..');
const inspector = path.join(here, 'node_modules/.bin/mcp-inspector');
const bin = process.env.MCP_LOCAL_BIN ?? path.join(repoRoot, 'target/debug/mcp-local');

let gw;
before(async () => { gw = await startGateway({}); });
after(async () => { await gw?.stop(); });

async function inspect(args) {
  const { stdout } = await promisify(execFile)(process.execPath, [inspector, '--cli', ...args], {
    timeout: 60_000,
    // The Inspector keeps a catalog in the home directory: a fresh one per run.
    env: { ...process.env, HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-inspector-home-')) },
  });
  return JSON.parse(stdout);
}

test('Inspector CLI over Streamable HTTP: tools/list and tools/call', async () => {
  const listed = await inspect([gw.httpUrl, '--transport', 'http', '--method', 'tools/list', '--strict']);
  assert.ok(listed.tools.some((t) => t.name === 'echo'), JSON.stringify(listed).slice(0, 300));
  const called = await inspect([gw.httpUrl, '--transport', 'http', '--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'text=from the inspector']);
  assert.equal(called.content[0].text, 'from the inspector');
});

/** A README snippet with this machine's binary path or gateway URL put in. */
function snippet(name, fill) {
  const config = JSON.parse(fs.readFileSync(path.join(repoRoot, 'docs/clients', name), 'utf8'));
  fill(config.mcpServers['mcp-serverless']);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-snippet-')), name);
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

test('the desktop snippets: stdio (claude-desktop.json) and HTTP (http.mcp.json)', async () => {
  const stdio = snippet('claude-desktop.json', (server) => { server.command = bin; });
  const http = snippet('http.mcp.json', (server) => { server.url = gw.httpUrl; });
  for (const config of [stdio, http]) {
    const listed = await inspect(['--config', config, '--server', 'mcp-serverless', '--method', 'tools/list']);
    assert.ok(listed.tools.some((t) => t.name === 'echo'), config);
    const called = await inspect(['--config', config, '--server', 'mcp-serverless', '--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'text=snippet']);
    assert.equal(called.content[0].text, 'snippet', config);
  }
});
