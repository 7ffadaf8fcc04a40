// A server made by `mcp-local new`, served by its own local gateway (MCP_LOCAL_BIN, set by
// tests/starter/run), called with the official TypeScript SDK over Streamable HTTP and
// WebSocket: its one tool, with the schemas derived from its Rust types.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { startGateway } from '../lib/gateway.mjs';

const NAME = process.env.STARTER_NAME ?? 'demo-server';

let gw;
before(async () => { gw = await startGateway(); });
after(() => gw?.stop());

for (const [kind, transport] of [
  ['Streamable HTTP', () => new StreamableHTTPClientTransport(new URL(gw.httpUrl))],
  ['WebSocket', () => new WebSocketClientTransport(new URL(gw.wsUrl))],
]) {
  describe(`the new server over ${kind}`, () => {
    let client;
    before(async () => {
      client = new Client({ name: 'starter-test', version: '1.0.0' }, { capabilities: {} });
      await client.connect(transport());
    });
    after(() => client?.close());

    test('it is the new server, with its tool and the schemas of its types', async () => {
      assert.equal(client.getServerVersion().name, NAME);
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name), ['greet']);
      assert.deepEqual(tools[0].inputSchema.required, ['name']);
      assert.equal(tools[0].inputSchema.additionalProperties, false);
      assert.equal(tools[0].outputSchema.properties.text.type, 'string');
    });

    test('its tool answers with structured content', async () => {
      const result = await client.callTool({ name: 'greet', arguments: { name: 'Ada' } });
      assert.notEqual(result.isError, true);
      assert.deepEqual(result.structuredContent, { text: 'Hello, Ada!' });
    });

    test('arguments its schema refuses are refused, naming them', async () => {
      const refused = await client.callTool({ name: 'greet', arguments: { name: 'Ada', shout: true } }).then(
        (result) => JSON.stringify(result),
        (error) => String(error),
      );
      assert.match(refused, /shout/);
    });
  });
}
