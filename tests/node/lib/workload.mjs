// A fixed, sequential workload for tests/bench/lane: each kind of message a client sends, N
// times, over WebSocket and Streamable HTTP, in both eras, with a bearer token (the deployed
// configuration has authorization on). Sequential, so that after its first (cold) invocation
// a function's environment is reused: the figures are warm ones but the first.
//
//   node lib/workload.mjs --base http://127.0.0.1:PORT --token TOKEN [--count 20]
//
// Prints one JSON object: for each kind, the client's round-trip times in milliseconds.
import { parseArgs } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const { values } = parseArgs({ options: { base: { type: 'string' }, token: { type: 'string' }, count: { type: 'string', default: '20' } } });
const N = Number(values.count);
const httpUrl = `${values.base}/mcp`;
const wsUrl = `${values.base.replace(/^http/, 'ws')}/ws`;
const V2026 = '2026-07-28';
const META = { 'io.modelcontextprotocol/protocolVersion': V2026, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'workload', version: '1' } };
const auth = { authorization: `Bearer ${values.token}` };
const times = {};

async function timed(kind, run) {
  const started = performance.now();
  await run();
  (times[kind] ??= []).push(performance.now() - started);
}

class SocketTransport {
  constructor(ws) { this.ws = ws; }
  async start() { this.ws.onmessage = (e) => this.onmessage?.(JSON.parse(e.data)); this.ws.onclose = () => this.onclose?.(); }
  async send(m) { this.ws.send(JSON.stringify(m)); }
  async close() { this.ws.close(); }
}

function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, ['mcp', `mcp.auth.${values.token}`]);
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error('handshake refused'));
  });
}

/** Sends one request on a socket and waits for its reply (bounded). */
function request(ws, message) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${message.method}`)), 30_000);
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.id === message.id) { clearTimeout(timer); m.error ? reject(new Error(m.error.message)) : resolve(m); }
    };
    ws.send(JSON.stringify(message));
  });
}

// WebSocket, session era (the SDK).
let ws;
await timed('ws $connect', async () => { ws = await open(); });
const wsClient = new Client({ name: 'workload', version: '1' });
await timed('ws initialize (session)', () => wsClient.connect(new SocketTransport(ws)));
for (let i = 0; i < N; i++) await timed('ws tools/list (session)', () => wsClient.listTools());
for (let i = 0; i < N; i++) await timed('ws tools/call (session)', () => wsClient.callTool({ name: 'echo', arguments: { text: `m${i}` } }));
await wsClient.close();

// WebSocket, 2026-07-28.
ws = await open();
let id = 0;
for (let i = 0; i < N; i++) await timed('ws tools/list (2026)', () => request(ws, { jsonrpc: '2.0', id: ++id, method: 'tools/list', params: { _meta: META } }));
for (let i = 0; i < N; i++) {
  await timed('ws tools/call (2026)', () => request(ws, { jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name: 'echo', arguments: { text: `s${i}` }, _meta: META } }));
}
ws.close();

// HTTP, session era (the SDK).
const httpClient = new Client({ name: 'workload', version: '1' });
const transport = new StreamableHTTPClientTransport(new URL(httpUrl), { requestInit: { headers: auth } });
await timed('http initialize (session)', () => httpClient.connect(transport));
for (let i = 0; i < N; i++) await timed('http tools/list (session)', () => httpClient.listTools());
for (let i = 0; i < N; i++) await timed('http tools/call (session)', () => httpClient.callTool({ name: 'echo', arguments: { text: `h${i}` } }));
await timed('http DELETE (session)', () => transport.terminateSession());
await httpClient.close();

// HTTP, 2026-07-28.
async function post(method, params) {
  const r = await fetch(httpUrl, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': V2026, 'mcp-method': method, ...(params.name ? { 'mcp-name': params.name } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params: { ...params, _meta: META } }),
  });
  const body = await r.json();
  if (!r.ok || body.error) throw new Error(`${method}: ${r.status} ${JSON.stringify(body.error)}`);
}
for (let i = 0; i < N; i++) await timed('http tools/list (2026)', () => post('tools/list', {}));
for (let i = 0; i < N; i++) await timed('http tools/call (2026)', () => post('tools/call', { name: 'echo', arguments: { text: `x${i}` } }));

console.log(JSON.stringify(times));
