// The gateway's console in a real browser: Debian's chromium, headless, driven by
// playwright-core. A client connects over WebSocket (through the project's TypeScript
// transport, with a token), subscribes to a resource and calls a tool; the page, which
// follows the gateway's event stream, must then show the connection, its session, the
// subscription, the servers' tools and the messages with their instance and remote calls.
// The screenshot goes to the test outputs (tests/out/console.png; console-lane.png in the
// Lambda lane, where the instances are the functions' environments).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';

import { WebSocketTransport } from '../../clients/typescript/index.mjs';
import { startGateway, laneArgs } from './lib/gateway.mjs';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const outDir = process.env.TEST_OUT ?? path.join(repoRoot, 'tests/out');
const bin = process.env.MCP_LOCAL_BIN ?? path.join(repoRoot, 'target/debug/mcp-local');
const WAIT_MS = 15_000;

let gw;
let browser;
let keyPath;

before(async () => {
  keyPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-console-')), 'issuer.pem');
  gw = await startGateway({ args: ['--auth', '--auth-key', keyPath] });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    // The test runs as root in CI, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--headless=new'],
  });
});
after(async () => {
  await browser?.close();
  await gw?.stop();
});

const mint = async (subject) =>
  (await promisify(execFile)(bin, ['mint-token', '--gateway', gw.base, '--auth-key', keyPath, '--subject', subject])).stdout.trim();

/** The text of each row of one of the page's tables. */
const rows = (page, section) =>
  page.locator(`#${section} tbody tr`).evaluateAll((trs) => trs.map((tr) => tr.innerText.replace(/\s+/g, ' ').trim()));

async function until(page, section, what, check) {
  const deadline = Date.now() + WAIT_MS;
  let last = [];
  while (Date.now() < deadline) {
    last = await rows(page, section);
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the console's ${section} never showed ${what}; it showed:\n${last.join('\n')}`);
}

test('the console follows a client that connects, subscribes and calls a tool', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.goto(`${gw.base}/console`);
  await page.locator('#status.live').waitFor({ timeout: WAIT_MS });
  assert.deepEqual(await rows(page, 'connections'), ['no connection']);

  const client = new Client({ name: 'console-test', version: '0.0.0' }, { capabilities: {} });
  await client.connect(new WebSocketTransport(gw.wsUrl, { token: await mint('console-user') }));
  try {
    const note = `note://console-${process.pid}`;
    await client.subscribeResource({ uri: note }, { timeout: WAIT_MS });
    const called = await client.callTool({ name: 'echo', arguments: { text: 'seen by the console' } }, undefined, { timeout: WAIT_MS });
    assert.equal(called.content[0].text, 'seen by the console');

    const connections = await until(page, 'connections', 'one session-era connection', (r) => r.length === 1 && / session /.test(r[0]));
    assert.match(connections[0], /\(default\)/, 'the connection names its server');
    assert.match(connections[0], /[0-9a-f]{8}/, 'and its principal, hashed');
    assert.ok(!connections[0].includes('console-user'), 'never the principal itself');
    await until(page, 'sessions', 'the WebSocket session', (r) => r.some((row) => /websocket/.test(row)));
    await until(page, 'subscriptions', `the subscription to ${note}`, (r) => r.some((row) => row.includes(note)));
    await until(page, 'servers', 'the tools of the default server', (r) => r.some((row) => /echo/.test(row)));
    const messages = await until(page, 'messages', 'the tool call', (r) => r.some((row) => /tools\/call websocket/.test(row)));
    const call = messages.find((row) => /tools\/call websocket/.test(row));
    assert.match(call, /instance \d|#\d/, `the call names the instance that served it: ${call}`);

    // The filter narrows the log to what it names.
    await page.fill('#filter', 'resources/subscribe');
    const filtered = await rows(page, 'messages');
    assert.ok(filtered.length >= 1 && filtered.every((row) => row.includes('resources/subscribe')), filtered.join('\n'));
    await page.fill('#filter', '');

    fs.mkdirSync(outDir, { recursive: true });
    const shot = laneArgs().length ? 'console-lane.png' : 'console.png';
    await page.screenshot({ path: path.join(outDir, shot), fullPage: true });
  } finally {
    await client.close();
  }
  await until(page, 'connections', 'the connection gone after the client closed', (r) => r.length === 1 && r[0] === 'no connection');
  assert.deepEqual(problems, [], 'no error on the page');
});

test('the console answers loopback callers only, and is off with --no-console', async () => {
  // A page on another name that resolves here (DNS rebinding) sends its own Host.
  const foreignHost = await new Promise((resolve, reject) => {
    const request = http.get(`${gw.base}/console`, { headers: { host: 'attacker.example' } }, (res) => { res.resume(); resolve(res.statusCode); });
    request.on('error', reject);
  });
  assert.equal(foreignHost, 403, 'a rebound name is refused');
  const off = await startGateway({ args: ['--no-console'] });
  try {
    assert.equal((await fetch(`${off.base}/console`)).status, 404);
    assert.equal((await fetch(`${off.base}/console/events`)).status, 404);
  } finally {
    await off.stop();
  }
});
