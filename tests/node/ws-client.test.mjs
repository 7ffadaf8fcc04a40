// The project's TypeScript WebSocket transport (clients/typescript) under the official SDK
// clients: `@modelcontextprotocol/sdk` 1.x (the session era) and `@modelcontextprotocol/client`
// 2.x (2026-07-28), against the local gateway or, with MCP_LOCAL_EXTRA_ARGS, the Lambda lane.
// The gateway closes connections as API Gateway does (idle, lifetime), here after seconds.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { Client as ClientV2 } from '@modelcontextprotocol/client';

import {
  WebSocketTransport,
  HandshakeError,
  LimitError,
  SessionRestartedError,
  LIMIT_EXCEEDED,
} from '../../clients/typescript/index.mjs';
import { startGateway } from './lib/gateway.mjs';
import { withTimeout, sleep } from './lib/hostile.mjs';

const WAIT_MS = 15_000;
// Idle and lifetime bounds short enough to pass within a test; API Gateway's are 10 min and 2 h.
const IDLE_SECONDS = 2;
const LIFETIME_SECONDS = 12;
const bin = process.env.MCP_LOCAL_BIN ?? path.resolve(import.meta.dirname, '../../target/debug/mcp-local');

let gw;
let authed;
let keyPath;

before(async () => {
  gw = await startGateway({ args: ['--ws-idle-seconds', String(IDLE_SECONDS), '--ws-lifetime-seconds', String(LIFETIME_SECONDS)] });
  keyPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-ws-client-')), 'issuer.pem');
  authed = await startGateway({ args: ['--auth', '--auth-key', keyPath] });
});
after(async () => {
  await gw?.stop();
  await authed?.stop();
});

const mint = async (subject) =>
  (await promisify(execFile)(bin, ['mint-token', '--gateway', authed.base, '--auth-key', keyPath, '--subject', subject])).stdout.trim();

/** A transport that records what it reports: errors, and each new connection. */
function recordingTransport(url, options = {}) {
  const seen = { errors: [], reconnects: [] };
  const transport = new WebSocketTransport(url, { ...options, onreconnect: (info) => seen.reconnects.push(info) });
  return { transport, seen };
}

function watchErrors(client, seen) {
  client.onerror = (error) => seen.errors.push(error);
}

async function v1(url, options) {
  const { transport, seen } = recordingTransport(url, options);
  const client = new ClientV1({ name: 'ws-client-test-v1', version: '0.0.0' }, { capabilities: {} });
  await client.connect(transport);
  watchErrors(client, seen);
  return { client, transport, seen };
}

async function v2(url, options) {
  const { transport, seen } = recordingTransport(url, options);
  // 'auto': probe with server/discover and speak 2026-07-28 where the server does (the 2.x
  // client's default is the session era).
  const client = new ClientV2(
    { name: 'ws-client-test-v2', version: '0.0.0' },
    { capabilities: {}, versionNegotiation: { mode: 'auto' } },
  );
  await client.connect(transport);
  watchErrors(client, seen);
  return { client, transport, seen };
}

const echo = async (client, text) => {
  const result = await client.callTool({ name: 'echo', arguments: { text } }, undefined, { timeout: WAIT_MS });
  return result.content?.[0]?.text;
};

async function until(what, check) {
  await withTimeout((async () => { while (!check()) await sleep(50); })(), WAIT_MS, what);
}

describe('both SDK lines, both eras', () => {
  test('SDK 1.x: a session-era client lists and calls tools over the transport', async () => {
    const { client, transport } = await v1(gw.wsUrl);
    try {
      assert.ok(transport.initialize, 'the 1.x client initialized a session');
      const tools = await client.listTools(undefined, { timeout: WAIT_MS });
      assert.ok(tools.tools.some((t) => t.name === 'echo'));
      assert.equal(await echo(client, 'one'), 'one');
    } finally {
      await client.close();
    }
  });

  test('SDK 2.x: a 2026-07-28 client calls tools over the transport, every request complete in itself', async () => {
    const { client, transport } = await v2(gw.wsUrl);
    try {
      assert.equal(await echo(client, 'two'), 'two');
      assert.equal(transport.initialize, undefined, 'no initialize went out');
      assert.equal(transport.statelessMeta?.['io.modelcontextprotocol/protocolVersion'], '2026-07-28');
    } finally {
      await client.close();
    }
  });
});

describe('the token and refused handshakes', () => {
  test('the token as the mcp.auth subprotocol, and as an Authorization header', async () => {
    for (const tokenIn of ['subprotocol', 'header']) {
      const { client } = await v1(authed.wsUrl, { token: await mint(`alice-${tokenIn}`), tokenIn });
      try {
        assert.equal(await echo(client, tokenIn), tokenIn);
      } finally {
        await client.close();
      }
    }
  });

  test('no token: a HandshakeError with 401 and the reason', async () => {
    const error = await v1(authed.wsUrl, { reconnects: 0 }).then(() => null, (e) => e);
    assert.ok(error instanceof HandshakeError, `got ${error}`);
    assert.equal(error.status, 401);
    assert.ok(error.reason.length > 0, 'the refusal says why');
    assert.match(error.message, /HTTP 401/);
  });

  test('an unknown server: a HandshakeError with 404 and the reason', async () => {
    const error = await v2(`${gw.wsUrl}?server=nobody-registered-this`).then(() => null, (e) => e);
    assert.ok(error instanceof HandshakeError, `got ${error}`);
    assert.equal(error.status, 404);
    assert.match(error.message, /HTTP 404/);
  });
});

test('over a limit: a message over 128 KiB is refused before it is sent, and a -32010 from the server is a LimitError', async () => {
  const { client } = await v2(gw.wsUrl);
  // Without the transport's own check the server answers -32010, for a message it could not
  // read and so without the request's id.
  const unchecked = await v2(gw.wsUrl, { maxMessageBytes: Infinity });
  try {
    const error = await echo(client, 'x'.repeat(140 * 1024)).then(() => null, (e) => e);
    assert.ok(error instanceof LimitError, `got ${error}`);
    assert.equal(error.code, LIMIT_EXCEEDED);
    assert.match(error.message, /at most 131072/);
    assert.equal(await echo(client, 'after'), 'after', 'the connection goes on');

    const sent = echo(unchecked.client, 'y'.repeat(140 * 1024)).catch(() => {});
    await until('the server\'s -32010 to be reported', () => unchecked.seen.errors.some((e) => e instanceof LimitError));
    assert.match(unchecked.seen.errors.find((e) => e instanceof LimitError).message, /131072 byte limit/);
    assert.equal(await echo(unchecked.client, 'still'), 'still', 'the refusal did not end the connection');
    void sent;
  } finally {
    await client.close();
    await unchecked.client.close();
  }
});

describe('API Gateway closes connections: idle, and at the end of their lifetime', () => {
  test('keepalive pings hold an idle connection open; without them it is closed and the transport reconnects', async () => {
    // A 2026-07-28 client's keepalive is server/discover, a session-era one's ping.
    const kept = [await v2(gw.wsUrl, { keepaliveMs: 500 }), await v1(gw.wsUrl, { keepaliveMs: 500 })];
    const dropped = await v2(gw.wsUrl, { keepaliveMs: 0 });
    try {
      // Idle for longer than the gateway's idle bound, well short of its lifetime.
      await sleep((IDLE_SECONDS + 1.5) * 1000);
      await until('the unpinged connection to be reconnected', () => dropped.seen.reconnects.length > 0);
      for (const k of kept) {
        assert.deepEqual(k.seen.reconnects, [], 'the pinged connection stayed open');
        assert.deepEqual(k.seen.errors.map(String), [], 'every keepalive was answered');
        assert.equal(await echo(k.client, 'kept'), 'kept');
      }
      assert.equal(dropped.seen.reconnects[0].sessionRestarted, false);
      assert.equal(await echo(dropped.client, 'back'), 'back');
    } finally {
      for (const k of kept) await k.client.close();
      await dropped.client.close();
    }
  });

  test('at the lifetime: a session-era client gets a new session and is told; a 2026-07-28 client goes on', async () => {
    const session = await v1(gw.wsUrl, { keepaliveMs: 500 });
    const stateless = await v2(gw.wsUrl, { keepaliveMs: 500 });
    try {
      await until('both connections to reach their lifetime and reconnect',
        () => session.seen.reconnects.length > 0 && stateless.seen.reconnects.length > 0);
      assert.equal(session.seen.reconnects[0].sessionRestarted, true);
      assert.ok(session.seen.errors.some((e) => e instanceof SessionRestartedError), 'the session era is told');
      assert.equal(stateless.seen.reconnects[0].sessionRestarted, false);
      assert.ok(!stateless.seen.errors.some((e) => e instanceof SessionRestartedError));
      assert.equal(await echo(session.client, 'new session'), 'new session');
      assert.equal(await echo(stateless.client, 'same client'), 'same client');
    } finally {
      await session.client.close();
      await stateless.client.close();
    }
  });
});

describe('a connection that drops', () => {
  test('a request in flight fails with -32000 (it may or may not have run), and the client goes on', async () => {
    const { client, transport, seen } = await v2(gw.wsUrl, { reconnectDelayMs: 100 });
    try {
      const slow = client.callTool({ name: 'countdown', arguments: { seconds: 3 } }, undefined, { timeout: WAIT_MS }).then(() => null, (e) => e);
      await sleep(300);
      transport.socket.terminate(); // the network drops the connection mid-request
      const error = await slow;
      assert.ok(error, 'the request in flight failed');
      assert.match(String(error.message), /may or may not have run/);
      await until('the reconnection', () => seen.reconnects.length > 0);
      assert.equal(await echo(client, 'after the drop'), 'after the drop');
    } finally {
      await client.close();
    }
  });

  test('closing while it reconnects stops the reconnection and says onclose once', async () => {
    const { client, transport, seen } = await v1(gw.wsUrl, { reconnectDelayMs: 300 });
    let closes = 0;
    const onclose = transport.onclose;
    transport.onclose = () => { closes += 1; onclose?.(); };
    transport.socket.terminate();
    await sleep(50); // the transport is now waiting to reconnect
    await client.close();
    await sleep(1000); // past the reconnection's first attempt
    assert.equal(closes, 1);
    assert.deepEqual(seen.reconnects, [], 'no new connection was made');
  });
});
