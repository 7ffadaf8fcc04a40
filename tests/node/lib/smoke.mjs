// The deployment smoke check (run by infra/smoke): a real MCP client (the TypeScript SDK) over
// both endpoints of a deployment, as a user meets them.
//
//   node lib/smoke.mjs --ws WSS_URL --http HTTPS_URL [--token TOKEN] [--tool echo] [--arguments '{"text":"smoke"}']
//
// WebSocket: the handshake offers the `mcp` subprotocol (and `mcp.auth.<token>` with a token)
// and must be answered with `mcp`; then initialize, tools/list, tools/call over the SDK, and a
// 2026-07-28 server/discover on a second connection. HTTP: the same with the SDK's Streamable
// HTTP transport (a bearer token in Authorization), and server/discover as a 2026-07-28 POST.
// Each step is printed with its time; any failure ends the run with status 1.
import { parseArgs } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const { values } = parseArgs({
  options: {
    ws: { type: 'string' },
    http: { type: 'string' },
    token: { type: 'string' },
    tool: { type: 'string', default: 'echo' },
    arguments: { type: 'string', default: '{"text":"smoke"}' },
    timeout: { type: 'string', default: '30000' },
  },
});
if (!values.ws || !values.http) {
  console.error('usage: smoke.mjs --ws URL --http URL [--token TOKEN] [--tool NAME] [--arguments JSON]');
  process.exit(2);
}
const TIMEOUT = Number(values.timeout);
const toolArguments = JSON.parse(values.arguments);
const V2026 = '2026-07-28';
const META = {
  'io.modelcontextprotocol/protocolVersion': V2026,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'mcp-smoke', version: '1.0.0' },
};

function bounded(promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT} ms: ${what}`)), TIMEOUT); }),
  ]).finally(() => clearTimeout(timer));
}

let failed = false;
async function step(name, run) {
  const started = performance.now();
  try {
    const detail = await bounded(run(), name);
    console.log(`ok   ${name} (${(performance.now() - started).toFixed(0)} ms)${detail ? `: ${detail}` : ''}`);
  } catch (e) {
    failed = true;
    console.log(`FAIL ${name}: ${e.message}`);
  }
}

/** Opens a WebSocket with our subprotocols; fails unless the server chose `mcp`. */
function openSocket(url) {
  const protocols = values.token ? ['mcp', `mcp.auth.${values.token}`] : ['mcp'];
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.onopen = () => (ws.protocol === 'mcp' ? resolve(ws) : reject(new Error(`the server chose subprotocol ${JSON.stringify(ws.protocol)}, not mcp`)));
    ws.onerror = () => reject(new Error('the handshake was refused (a 401/403 means the token; a 404 the URL)'));
  });
}

/** A Transport for the SDK over an open WebSocket (the SDK's own cannot send a token). */
class SocketTransport {
  constructor(ws) { this.ws = ws; }
  async start() {
    this.ws.onmessage = (e) => { try { this.onmessage?.(JSON.parse(e.data)); } catch (err) { this.onerror?.(err); } };
    this.ws.onclose = () => this.onclose?.();
    this.ws.onerror = (e) => this.onerror?.(new Error(String(e?.message ?? 'WebSocket error')));
  }
  async send(message) { this.ws.send(JSON.stringify(message)); }
  async close() { this.ws.close(); }
}

/** One JSON-RPC request on a fresh socket, its reply. */
async function rawWebSocketRequest(message) {
  const ws = await openSocket(values.ws);
  try {
    return await new Promise((resolve, reject) => {
      ws.onmessage = (e) => { const m = JSON.parse(e.data); if (m.id === message.id) resolve(m); };
      ws.onclose = () => reject(new Error('closed before the reply'));
      ws.send(JSON.stringify(message));
    });
  } finally {
    ws.close();
  }
}

async function sessionChecks(label, client) {
  await step(`${label} tools/list`, async () => {
    const { tools } = await client.listTools();
    if (!tools.some((t) => t.name === values.tool)) throw new Error(`no tool ${values.tool} among ${tools.map((t) => t.name).join(', ')}`);
    return `${tools.length} tools`;
  });
  await step(`${label} tools/call ${values.tool}`, async () => {
    const result = await client.callTool({ name: values.tool, arguments: toolArguments });
    if (result.isError) throw new Error(`tool error: ${JSON.stringify(result.content)}`);
    return JSON.stringify(result.content).slice(0, 80);
  });
}

function checkDiscover(reply) {
  if (reply.error) throw new Error(`error ${reply.error.code}: ${reply.error.message}`);
  const versions = reply.result?.supportedVersions ?? reply.result?.protocolVersions;
  return `${reply.result?._meta?.['io.modelcontextprotocol/serverInfo']?.name ?? '?'}${versions ? `, versions ${versions}` : ''}`;
}

console.log(`smoke: WebSocket ${values.ws}, HTTP ${values.http}${values.token ? ' (with a token)' : ''}`);

let wsClient;
await step('WebSocket handshake (subprotocol mcp) and initialize', async () => {
  const ws = await openSocket(values.ws);
  const client = new Client({ name: 'mcp-smoke', version: '1.0.0' });
  await client.connect(new SocketTransport(ws));
  wsClient = client;
  return client.getServerVersion()?.name;
});
if (wsClient) {
  await sessionChecks('WebSocket', wsClient);
  await wsClient.close();
}
await step('WebSocket server/discover (2026-07-28)', async () =>
  checkDiscover(await rawWebSocketRequest({ jsonrpc: '2.0', id: 'discover-ws', method: 'server/discover', params: { _meta: META } })));

let httpClient;
const headers = values.token ? { authorization: `Bearer ${values.token}` } : {};
await step('HTTP initialize', async () => {
  const client = new Client({ name: 'mcp-smoke', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(values.http), { requestInit: { headers } }));
  httpClient = client;
  return client.getServerVersion()?.name;
});
if (httpClient) {
  await sessionChecks('HTTP', httpClient);
  await httpClient.close();
}
await step('HTTP server/discover (2026-07-28)', async () => {
  const response = await fetch(values.http, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': V2026, 'mcp-method': 'server/discover' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 'discover-http', method: 'server/discover', params: { _meta: META } }),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
  return checkDiscover(await response.json());
});

console.log(failed ? 'smoke: FAILED' : 'smoke: passed');
process.exit(failed ? 1 : 0);
