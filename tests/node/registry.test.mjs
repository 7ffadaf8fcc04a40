// The registry end to end, with real backends: the gateway's three instances over DynamoDB
// (moto) and Redis, the `mcp-registry` CLI changing the catalogue, and a Lambda-backed tool
// (functions/tool-word-count) run by cargo-lambda's emulator (`cargo lambda watch`, the
// Lambda Invoke API on loopback), invoked through aws-sdk-lambda with an endpoint override.
// An SDK client on a WebSocket (its messages spread over the instances) sees each change as a
// `notifications/tools/list_changed` and in `tools/list`, calls the tool, and sees it go.
// Two registered servers on the same gateway (`/mcp/{server}`, `/ws/{server}`,
// `/ws?server=`) keep their catalogues and sessions apart; with --auth, a server admits only
// its allowed principals, within its rate limit.
//
// Needs MCP_DYNAMODB_ENDPOINT, MCP_REDIS_URL and MCP_TEST_CARGO_LAMBDA (the test command sets
// them in its real-backends step); skipped otherwise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

import { startGateway } from './lib/gateway.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { MCP_DYNAMODB_ENDPOINT: dynamodb, MCP_REDIS_URL: redis, MCP_TEST_CARGO_LAMBDA: cargoLambda } = process.env;
const skip = !(dynamodb && redis && cargoLambda) && 'needs MCP_DYNAMODB_ENDPOINT, MCP_REDIS_URL and MCP_TEST_CARGO_LAMBDA';

const SERVER = 'mcp-serverless-reference';
const FUNCTION = 'tool-word-count';
const run = randomBytes(4).toString('hex');
const tables = ['--table', `registry-e2e-${run}`, '--registry-table', `registry-${run}`];
const WAIT_MS = 20_000;

let gw;
let watch;
let lambdaUrl;

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Runs the CLI (`input` on its stdin); its JSON output and exit status. It notifies
 * connections through the gateway's @connections, signing with the key the gateway admits. */
function registry(...args) {
  return runRegistry(args);
}

function runRegistry(args, input) {
  const bin = path.join(repoRoot, 'target/debug/mcp-registry');
  const common = ['--dynamodb-endpoint', dynamodb, ...tables, '--redis-url', redis, '--connections-endpoint', gw.base];
  const env = { ...process.env, AWS_ACCESS_KEY_ID: gw.connectionsKey, AWS_SECRET_ACCESS_KEY: 'local' };
  const r = spawnSync(bin, [...common, ...args], { encoding: 'utf8', timeout: 60_000, input, env });
  return { status: r.status, out: r.stdout ? JSON.parse(r.stdout) : null, err: r.stderr };
}

/** Runs the CLI with an entry on stdin. */
function put(entry, server = SERVER) {
  return runRegistry(['put', '--server', server, '-'], JSON.stringify(entry));
}

const wordCount = (timeoutMs = 5000) => ({
  kind: 'tool',
  name: 'word_count',
  description: 'Counts the words of a text (a Lambda function)',
  inputSchema: {
    type: 'object',
    properties: { text: { type: 'string' }, delayMs: { type: 'integer' }, fail: { enum: ['reply', 'crash'] } },
    required: ['text'],
  },
  implementation: { type: 'lambda', function: FUNCTION, timeoutMs },
});

/** Invokes the function directly until the emulator answers (it compiles on start). */
async function waitForFunction() {
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      const r = await fetch(`${lambdaUrl}/2015-03-31/functions/${FUNCTION}/invocations`, {
        method: 'POST', body: JSON.stringify({ arguments: { text: 'warm up' } }),
      });
      if (r.ok) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error('cargo lambda watch did not serve the function');
    await new Promise((r) => setTimeout(r, 500));
  }
}

before(async () => {
  if (skip) return;
  const port = await freePort();
  lambdaUrl = `http://127.0.0.1:${port}`;
  watch = spawn(cargoLambda, ['lambda', 'watch', '-p', FUNCTION, '--invoke-address', '127.0.0.1', '--invoke-port', String(port), '--ignore-changes', '--quiet'], {
    cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'],
  });
  await waitForFunction();
  gw = await startGateway({
    instances: 3,
    args: ['--dynamodb-endpoint', dynamodb, '--create-table', ...tables, '--redis-url', redis, '--lambda-endpoint', lambdaUrl],
  });
});

after(async () => {
  await gw?.stop();
  watch?.kill('SIGTERM');
});

function nextListChanged(seen) {
  const before = seen.length;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no tools/list_changed')), WAIT_MS);
    const poll = setInterval(() => {
      if (seen.length > before) { clearTimeout(timer); clearInterval(poll); resolve(); }
    }, 20);
  });
}

test('a tool registered with the CLI is listed, announced, called, and removed', { skip, timeout: 600_000 }, async () => {
  assert.equal(registry('server', 'put', SERVER, '--title', 'Reference').status, 0);
  const client = new Client({ name: 'registry-e2e', version: '0.0.0' });
  const changes = [];
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => { changes.push(Date.now()); });
  await client.connect(new WebSocketClientTransport(new URL(gw.wsUrl)));
  const names = async () => (await client.listTools()).tools.map((t) => t.name);
  assert.ok(!(await names()).includes('word_count'));

  // An invalid entry is refused before anything is written.
  const bad = put({ ...wordCount(), inputSchema: { type: 'object', properties: { text: { type: 12 } } } });
  assert.notEqual(bad.status, 0);
  assert.match(bad.err, /invalid input schema/);

  let announced = nextListChanged(changes);
  const added = put(wordCount(2000));
  assert.equal(added.status, 0, added.err);
  assert.ok(added.out.notified >= 1, `the connection was notified: ${JSON.stringify(added.out)}`);
  await announced;
  assert.ok((await names()).includes('word_count'), 'listed by whichever instance answers');

  const counted = await client.callTool({ name: 'word_count', arguments: { text: 'one two three' } });
  assert.equal(counted.isError, undefined);
  assert.equal(counted.content[0].text, '3 words');
  assert.equal(counted.structuredContent.words, 3);

  // The gateway validates arguments against the schema before invoking anything.
  const invalid = await client.callTool({ name: 'word_count', arguments: { words: 3 } });
  assert.equal(invalid.isError, true);
  assert.match(invalid.content[0].text, /Invalid arguments/);
  // The function's own errors, its crash and its silence are tool errors, not failures.
  const refused = await client.callTool({ name: 'word_count', arguments: { text: 'x', fail: 'reply' } });
  assert.deepEqual([refused.isError, refused.content[0].text], [true, 'asked to fail']);
  const crashed = await client.callTool({ name: 'word_count', arguments: { text: 'x', fail: 'crash' } });
  assert.equal(crashed.isError, true);
  assert.match(crashed.content[0].text, /asked to crash/);
  const late = await client.callTool({ name: 'word_count', arguments: { text: 'x', delayMs: 4000 } });
  assert.deepEqual([late.isError, late.content[0].text], [true, 'the tool did not answer within 2000 ms']);

  const listed = registry('list', '--server', SERVER);
  assert.deepEqual(listed.out.entries.map((e) => e.name), ['word_count']);

  announced = nextListChanged(changes);
  const removed = registry('remove', '--server', SERVER, '--kind', 'tool', '--name', 'word_count');
  assert.equal(removed.status, 0, removed.err);
  await announced;
  assert.ok(!(await names()).includes('word_count'), 'gone from every instance');
  const gone = await client.callTool({ name: 'word_count', arguments: { text: 'x' } }).catch((e) => e);
  assert.match(String(gone.message ?? gone.content?.[0]?.text), /Unknown tool/);
  // A name code defines stays code's: the entry is stored, reported, and not served.
  const clash = put({ ...wordCount(), name: 'echo' });
  assert.equal(clash.status, 0, clash.err);
  assert.match(clash.out.warnings.join(' '), /defined in code/);
  const echo = await client.callTool({ name: 'echo', arguments: { text: 'still code' } });
  assert.equal(echo.content[0].text, 'still code');
  await client.close();
});

test('two servers on one gateway: a client of one can neither see nor call the other\'s tools', { skip, timeout: 600_000 }, async () => {
  const [alpha, beta] = [`alpha-${run}`, `beta-${run}`];
  for (const [server, tool] of [[alpha, 'alpha_words'], [beta, 'beta_words']]) {
    assert.equal(registry('server', 'put', server, '--title', server).status, 0);
    const added = put({ ...wordCount(), name: tool }, server);
    assert.equal(added.status, 0, added.err);
  }
  const connect = async (transport) => {
    const client = new Client({ name: 'servers-e2e', version: '0.0.0' });
    await client.connect(transport);
    return client;
  };
  const overHttp = new StreamableHTTPClientTransport(new URL(`${gw.base}/mcp/${alpha}`));
  const a = await connect(overHttp);
  const aOverWs = await connect(new WebSocketClientTransport(new URL(`${gw.wsUrl}/${alpha}`)));
  const b = await connect(new WebSocketClientTransport(new URL(`${gw.wsUrl}?server=${beta}`)));
  const byDefault = await connect(new WebSocketClientTransport(new URL(gw.wsUrl)));
  const names = async (client) => (await client.listTools()).tools.map((t) => t.name);

  assert.equal(a.getServerVersion().name, alpha);
  assert.equal(b.getServerVersion().name, beta);
  assert.deepEqual(await names(a), ['alpha_words']);
  assert.deepEqual(await names(aOverWs), ['alpha_words']);
  assert.deepEqual(await names(b), ['beta_words']);
  const defaults = await names(byDefault);
  assert.ok(defaults.includes('echo') && !defaults.includes('alpha_words') && !defaults.includes('beta_words'));

  // Each calls its own server's tool (the same Lambda function behind both)...
  const counted = await a.callTool({ name: 'alpha_words', arguments: { text: 'one two' } });
  assert.equal(counted.content[0].text, '2 words');
  assert.equal((await b.callTool({ name: 'beta_words', arguments: { text: 'one' } })).content[0].text, '1 words');
  // ...and not the other's.
  for (const [client, tool] of [[a, 'beta_words'], [aOverWs, 'beta_words'], [b, 'alpha_words'], [byDefault, 'alpha_words']]) {
    const r = await client.callTool({ name: tool, arguments: { text: 'x' } }).catch((e) => e);
    assert.match(String(r.message ?? r.content?.[0]?.text), /Unknown tool/, tool);
  }

  // alpha's HTTP session is alpha's only: another server does not know it.
  const elsewhere = await fetch(`${gw.base}/mcp/${beta}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json', accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25', 'mcp-session-id': overHttp.sessionId,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  assert.equal(elsewhere.status, 404);

  // A server nobody registered: 404 on HTTP, the handshake refused on WebSocket.
  const nobody = await fetch(`${gw.base}/mcp/nobody-${run}`, {
    method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });
  assert.equal(nobody.status, 404);
  const refused = await connect(new WebSocketClientTransport(new URL(`${gw.wsUrl}?server=nobody-${run}`))).catch((e) => e);
  assert.ok(refused instanceof Error, 'no connection to an unknown server');

  // The console lists the registry's servers, with the tools each server itself lists.
  const listed = await consoleServers(gw.base, [alpha, beta]);
  assert.deepEqual(listed[alpha], ['alpha_words']);
  assert.deepEqual(listed[beta], ['beta_words']);

  for (const client of [a, aOverWs, b, byDefault]) await client.close();
  for (const server of [alpha, beta]) assert.equal(registry('server', 'remove', server).status, 0);
});

/** Follows the console's event stream until it knows the tools of each of `wanted`. */
async function consoleServers(base, wanted) {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), 30_000);
  const servers = {};
  try {
    const response = await fetch(`${base}/console/events`, { signal: stop.signal });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = buffer.slice(0, end).split('\n').find((l) => l.startsWith('data: '))?.slice(6);
        buffer = buffer.slice(end + 2);
        if (!data) continue;
        const event = JSON.parse(data);
        const items = event.kind === 'snapshot' ? event.servers : event.kind === 'server' ? [event.item] : [];
        for (const item of items) servers[item.name] = item.tools;
        if (wanted.every((w) => Array.isArray(servers[w]))) return servers;
      }
    }
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
  assert.fail(`the console never listed the tools of ${wanted.join(', ')}: ${JSON.stringify(servers)}`);
}

test('a server admits only its allowed principals, within its rate limit', { skip, timeout: 600_000 }, async () => {
  const keyPath = path.join(os.tmpdir(), `registry-auth-${run}.pem`);
  const authed = await startGateway({
    instances: 2,
    args: ['--dynamodb-endpoint', dynamodb, ...tables, '--redis-url', redis, '--lambda-endpoint', lambdaUrl, '--auth', '--auth-key', keyPath],
  });
  try {
    const bin = path.join(repoRoot, 'target/debug/mcp-local');
    const mint = (subject) => spawnSync(bin, ['mint-token', '--gateway', authed.base, '--auth-key', keyPath, '--subject', subject], { encoding: 'utf8' }).stdout.trim();
    const reports = `reports-${run}`;
    const registered = registry('server', 'put', reports, '--allowed-principal', 'alice', '--rate-limit', '6');
    assert.equal(registered.status, 0, registered.err);
    assert.equal(put({ ...wordCount(), name: 'report_words' }, reports).status, 0);
    const url = new URL(`${authed.base}/mcp/${reports}`);
    const as = (subject) => new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${mint(subject)}` } } });

    // bob holds a valid token for the deployment, and is not on the server's list.
    const bob = new Client({ name: 'bob', version: '0.0.0' });
    const refused = await bob.connect(as('bob')).catch((e) => e);
    assert.match(String(refused?.message), /403|not allowed/);
    // Over WebSocket bob's handshake is refused, and alice's accepted.
    const handshake = (subject) => new Promise((resolve) => {
      const socket = new WebSocket(`${authed.wsUrl}?server=${reports}`, ['mcp', `mcp.auth.${mint(subject)}`]);
      socket.onopen = () => { socket.close(); resolve('open'); };
      socket.onerror = () => resolve('refused');
    });
    assert.equal(await handshake('bob'), 'refused');
    assert.equal(await handshake('alice'), 'open');

    // alice may, 6 requests a minute (her handshake was one).
    const alice = new Client({ name: 'alice', version: '0.0.0' });
    await alice.connect(as('alice'));
    assert.deepEqual((await alice.listTools()).tools.map((t) => t.name), ['report_words']);
    let limited;
    for (let i = 0; i < 8 && !limited; i++) {
      limited = await alice.ping().then(() => undefined, (e) => e);
    }
    assert.match(String(limited?.message), /429|rate limit of server/);
    await alice.close().catch(() => {});
    assert.equal(registry('server', 'remove', reports).status, 0);
  } finally {
    await authed.stop();
  }
});
