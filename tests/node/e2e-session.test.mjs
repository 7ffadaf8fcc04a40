// End-to-end tests of the session era (2025-11-25 and older) of the reference server with the
// official MCP TypeScript SDK client, over WebSocket and over Streamable HTTP.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  McpError,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

import { startGateway } from './lib/gateway.mjs';

const REQUEST_TIMEOUT_MS = 10_000;
const WAIT_MS = 10_000;
const SAMPLED_TEXT = 'A fixed summary from the test model.';

let gw;

before(async () => {
  gw = await startGateway({ server: 'reference', instances: 2 });
});

after(async () => {
  await gw?.stop();
});

const uniqueName = (prefix) => `${prefix}-${randomBytes(5).toString('hex')}`;
const opts = (extra = {}) => ({ timeout: REQUEST_TIMEOUT_MS, ...extra });

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const transports = [
  { kind: 'websocket', make: () => new WebSocketClientTransport(new URL(gw.wsUrl)) },
  { kind: 'streamable-http', make: () => new StreamableHTTPClientTransport(new URL(gw.httpUrl)) },
];

/** A connected SDK client that answers elicitation (accept, confirm) and sampling (fixed text). */
async function connectClient(make, { name = 'node-e2e-session' } = {}) {
  const client = new Client(
    { name, version: '0.0.0' },
    { capabilities: { elicitation: {}, sampling: {} } },
  );
  const seen = { elicitations: [], samplings: [] };
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    seen.elicitations.push(request.params);
    return { action: 'accept', content: { confirm: true } };
  });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    seen.samplings.push(request.params);
    return { role: 'assistant', content: { type: 'text', text: SAMPLED_TEXT }, model: 'test-model', stopReason: 'endTurn' };
  });
  await withTimeout(client.connect(make(), opts()), WAIT_MS, 'the client to connect');
  return { client, seen };
}

async function closeClient(client) {
  if (!client) return;
  await withTimeout(client.close(), 5_000, 'the client to close').catch(() => {});
}

for (const { kind, make } of transports) {
  describe(`session era over ${kind} (SDK client)`, () => {
    let client;
    let seen;

    before(async () => {
      ({ client, seen } = await connectClient(make));
    });

    after(async () => {
      await closeClient(client);
    });

    async function writeNote(name, text, c = client) {
      const result = await c.callTool({ name: 'note_write', arguments: { name, text } }, undefined, opts());
      assert.notEqual(result.isError, true, `note_write failed: ${JSON.stringify(result)}`);
      return result;
    }

    test('initialize negotiated a session-era version and the server capabilities', () => {
      const caps = client.getServerCapabilities();
      assert.ok(caps?.tools, 'tools capability');
      assert.ok(caps?.resources?.subscribe, 'resources.subscribe capability');
      assert.ok(caps?.prompts, 'prompts capability');
      assert.ok(caps?.completions, 'completions capability');
      assert.ok(caps?.logging, 'logging capability');
      assert.equal(typeof client.getServerVersion()?.name, 'string');
      if (kind === 'streamable-http') {
        assert.ok(client.transport.sessionId, 'the server returned an Mcp-Session-Id');
        assert.ok(client.transport.protocolVersion, 'a protocol version was negotiated');
      }
    });

    test('ping', async () => {
      assert.deepEqual(await client.ping(opts()), {});
    });

    test('tools/list', async () => {
      const { tools } = await client.listTools(undefined, opts());
      const names = tools.map((t) => t.name);
      for (const n of ['echo', 'calculate', 'word_stats', 'countdown', 'note_write', 'note_delete', 'note_summarize']) {
        assert.ok(names.includes(n), `tools/list lacks ${n}: ${names}`);
      }
      const calculate = tools.find((t) => t.name === 'calculate');
      assert.ok(calculate.outputSchema, 'calculate has an outputSchema');
    });

    test('tools/call echo', async () => {
      const text = `hello over ${kind} ${randomBytes(3).toString('hex')}`;
      const result = await client.callTool({ name: 'echo', arguments: { text } }, undefined, opts());
      assert.deepEqual(result.content, [{ type: 'text', text }]);
      assert.notEqual(result.isError, true);
    });

    test('tools/call calculate returns structuredContent; bad input is a tool error', async () => {
      const result = await client.callTool({ name: 'calculate', arguments: { expression: '(2+3)*4' } }, undefined, opts());
      assert.notEqual(result.isError, true);
      assert.deepEqual(result.structuredContent, { expression: '(2+3)*4', result: 20 });

      const bad = await client.callTool({ name: 'calculate', arguments: { expression: '(2+' } }, undefined, opts());
      assert.equal(bad.isError, true, JSON.stringify(bad));
    });

    test('tools/call word_stats', async () => {
      const result = await client.callTool(
        { name: 'word_stats', arguments: { text: 'one two three\nfour five' } }, undefined, opts(),
      );
      assert.notEqual(result.isError, true);
      assert.deepEqual(result.structuredContent, { words: 5, lines: 2, characters: 23 });
    });

    test('resources/list and resources/templates/list', async () => {
      const { resources } = await client.listResources(undefined, opts());
      const index = resources.find((r) => r.uri === 'note://index');
      assert.ok(index, `resources/list lacks note://index: ${JSON.stringify(resources)}`);
      assert.equal(index.mimeType, 'text/plain');

      const { resourceTemplates } = await client.listResourceTemplates(undefined, opts());
      assert.ok(
        resourceTemplates.some((t) => t.uriTemplate === 'note://{name}'),
        JSON.stringify(resourceTemplates),
      );
    });

    test('note_write then resources/read note://<name> (and note://index lists it)', async () => {
      const name = uniqueName(`s-${kind}-read`);
      const text = `some note text ${randomBytes(4).toString('hex')}`;
      await writeNote(name, text);
      const { contents } = await client.readResource({ uri: `note://${name}` }, opts());
      assert.equal(contents.length, 1);
      assert.equal(contents[0].uri, `note://${name}`);
      assert.equal(contents[0].text, text);

      const index = await client.readResource({ uri: 'note://index' }, opts());
      assert.ok(index.contents[0].text.split('\n').includes(name), `note://index lacks ${name}`);
    });

    test('reading an unknown note rejects with -32002', async () => {
      await assert.rejects(
        client.readResource({ uri: `note://${uniqueName('s-missing')}` }, opts()),
        (err) => {
          assert.ok(err instanceof McpError, `not an McpError: ${err}`);
          assert.equal(err.code, -32002);
          return true;
        },
      );
    });

    test('resources/subscribe: note_write by another client sends notifications/resources/updated', async () => {
      const name = uniqueName(`s-${kind}-sub`);
      const uri = `note://${name}`;
      await writeNote(name, 'before');

      const updates = [];
      let notify;
      const arrived = new Promise((resolve) => { notify = resolve; });
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
        updates.push(n.params.uri);
        if (n.params.uri === uri) notify(n);
      });
      const other = (await connectClient(make, { name: 'node-e2e-writer' })).client;
      try {
        await client.subscribeResource({ uri }, opts());
        await writeNote(name, 'after', other);
        const n = await withTimeout(arrived, WAIT_MS, `notifications/resources/updated for ${uri}`);
        assert.equal(n.params.uri, uri);

        // A write by the subscribed client itself notifies it too.
        const count = updates.filter((u) => u === uri).length;
        let notifyAgain;
        const again = new Promise((resolve) => { notifyAgain = resolve; });
        notify = notifyAgain;
        await writeNote(name, 'again');
        await withTimeout(again, WAIT_MS, `a second notifications/resources/updated for ${uri}`);
        assert.ok(updates.filter((u) => u === uri).length > count);
        await client.unsubscribeResource({ uri }, opts());
      } finally {
        client.removeNotificationHandler('notifications/resources/updated');
        await closeClient(other);
      }
    });

    test('prompts/get review_note embeds the note', async () => {
      const name = uniqueName(`s-${kind}-prompt`);
      const text = `prompt note ${randomBytes(4).toString('hex')}`;
      await writeNote(name, text);
      const { prompts } = await client.listPrompts(undefined, opts());
      assert.ok(prompts.some((p) => p.name === 'review_note'));

      const result = await client.getPrompt({ name: 'review_note', arguments: { name, focus: 'clarity' } }, opts());
      assert.ok(result.messages.length > 0);
      const embedded = result.messages.find((m) => m.content.type === 'resource');
      assert.ok(embedded, `no embedded resource: ${JSON.stringify(result.messages)}`);
      assert.equal(embedded.content.resource.uri, `note://${name}`);
      assert.equal(embedded.content.resource.text, text);
    });

    test('completion/complete of review_note arguments and of the note://{name} template', async () => {
      const name = uniqueName(`scompl${kind.replace(/-/g, '')}`);
      await writeNote(name, 'completion');
      const prefix = name.slice(0, name.length - 3);

      const byPrompt = await client.complete({
        ref: { type: 'ref/prompt', name: 'review_note' },
        argument: { name: 'name', value: prefix },
      }, opts());
      assert.ok(byPrompt.completion.values.includes(name), JSON.stringify(byPrompt.completion));

      const focus = await client.complete({
        ref: { type: 'ref/prompt', name: 'review_note' },
        argument: { name: 'focus', value: 'c' },
      }, opts());
      assert.deepEqual([...focus.completion.values].sort(), ['clarity', 'correctness']);

      const byTemplate = await client.complete({
        ref: { type: 'ref/resource', uri: 'note://{name}' },
        argument: { name: 'name', value: prefix },
      }, opts());
      assert.ok(byTemplate.completion.values.includes(name), JSON.stringify(byTemplate.completion));
    });

    test('countdown reports progress through onprogress', async () => {
      const progress = [];
      const result = await client.callTool(
        { name: 'countdown', arguments: { seconds: 2 } },
        undefined,
        opts({ timeout: 15_000, onprogress: (p) => progress.push(p) }),
      );
      assert.deepEqual(result.content, [{ type: 'text', text: 'Counted down from 2' }]);
      assert.ok(progress.length >= 2, `expected progress, got ${JSON.stringify(progress)}`);
      let last = -Infinity;
      for (const p of progress) {
        assert.equal(p.total, 2);
        assert.ok(p.progress > last, 'progress must increase');
        last = p.progress;
      }
    });

    test('elicitation: note_delete asks the user and deletes on accept', async () => {
      const name = uniqueName(`s-${kind}-del`);
      await writeNote(name, 'delete me');
      const before = seen.elicitations.length;
      const result = await client.callTool({ name: 'note_delete', arguments: { name } }, undefined, opts());
      assert.notEqual(result.isError, true, JSON.stringify(result));
      assert.equal(seen.elicitations.length, before + 1, 'exactly one elicitation/create was received');
      const ask = seen.elicitations.at(-1);
      assert.ok(ask.requestedSchema?.properties?.confirm, JSON.stringify(ask));

      await assert.rejects(
        client.readResource({ uri: `note://${name}` }, opts()),
        (err) => err instanceof McpError && err.code === -32002,
      );
    });

    test('sampling: note_summarize returns the text the client model sampled', async () => {
      const name = uniqueName(`s-${kind}-sum`);
      await writeNote(name, 'A note worth summarising, with several words in it.');
      const before = seen.samplings.length;
      const result = await client.callTool({ name: 'note_summarize', arguments: { name } }, undefined, opts());
      assert.notEqual(result.isError, true, JSON.stringify(result));
      assert.equal(seen.samplings.length, before + 1, 'exactly one sampling/createMessage was received');
      assert.ok(Array.isArray(seen.samplings.at(-1).messages));
      assert.deepEqual(result.content, [{ type: 'text', text: SAMPLED_TEXT }]);
    });

    test('logging/setLevel', async () => {
      assert.deepEqual(await client.setLoggingLevel('warning', opts()), {});
    });
  });
}

test('gateway is still alive after the session suite', () => {
  assert.ok(gw.alive(), `gateway died:\n${gw.stderr()}`);
  assert.doesNotMatch(gw.stderr(), /panicked/, `gateway panicked:\n${gw.stderr()}`);
});
