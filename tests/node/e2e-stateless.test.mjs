// End-to-end tests of the stateless 2026-07-28 era of the reference server, over Streamable HTTP
// (raw fetch) and over WebSocket (Node 22 global WebSocket, subprotocol `mcp`).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { startGateway } from './lib/gateway.mjs';
import {
  HttpClient, WsClient, httpPost, withMeta, freshId,
  PROTOCOL_VERSION, META_SERVER, META_SUBSCRIPTION,
} from './lib/stateless.mjs';

let gw;

before(async () => {
  gw = await startGateway({ server: 'reference', instances: 2 });
});

after(async () => {
  await gw?.stop();
});

const uniqueName = (prefix) => `${prefix}-${randomBytes(5).toString('hex')}`;

function assertServerInfo(result) {
  const info = result?._meta?.[META_SERVER];
  assert.ok(info, `result lacks _meta["${META_SERVER}"]: ${JSON.stringify(result)}`);
  assert.equal(typeof info.name, 'string');
  assert.equal(typeof info.version, 'string');
}

function assertComplete(response) {
  assert.equal(response.error, undefined, `unexpected error: ${JSON.stringify(response.error)}`);
  assert.ok(response.result, 'response has no result');
  assert.equal(response.result.resultType, 'complete', `resultType: ${JSON.stringify(response.result)}`);
  assertServerInfo(response.result);
  return response.result;
}

function assertCacheable(result) {
  assert.equal(typeof result.ttlMs, 'number', `ttlMs missing: ${JSON.stringify(result)}`);
  assert.ok(result.ttlMs >= 0);
  assert.ok(['public', 'private'].includes(result.cacheScope), `cacheScope: ${result.cacheScope}`);
}

/** Flips one character of the signed state's payload so it no longer matches its signature. */
function tamper(state) {
  const i = Math.min(10, state.length - 2);
  const replacement = state[i] === 'A' ? 'B' : 'A';
  return state.slice(0, i) + replacement + state.slice(i + 1);
}

const transports = [
  { kind: 'http', open: () => HttpClient.open(gw.httpUrl) },
  { kind: 'ws', open: () => WsClient.open(gw.wsUrl) },
];

for (const { kind, open } of transports) {
  describe(`stateless ${PROTOCOL_VERSION} over ${kind}`, () => {
    let client;

    before(async () => { client = await open(); });
    after(async () => { await client?.close(); });

    const callTool = (name, args, extra = {}, opts = {}) =>
      client.request('tools/call', { name, arguments: args, ...extra }, opts);

    async function writeNote(name, text) {
      const { response } = await callTool('note_write', { name, text });
      const result = assertComplete(response);
      assert.notEqual(result.isError, true, `note_write failed: ${JSON.stringify(result)}`);
    }

    async function readNote(name) {
      const { response } = await client.request('resources/read', { uri: `note://${name}` });
      return response;
    }

    test('server/discover lists the supported versions and capabilities', async () => {
      const { response } = await client.request('server/discover');
      const result = assertComplete(response);
      assert.ok(Array.isArray(result.supportedVersions));
      assert.ok(result.supportedVersions.includes(PROTOCOL_VERSION), JSON.stringify(result.supportedVersions));
      assert.ok(result.capabilities?.tools, 'capabilities.tools');
      assert.ok(result.capabilities?.resources, 'capabilities.resources');
      assert.ok(result.capabilities?.prompts, 'capabilities.prompts');
      assert.ok(result.capabilities?.completions, 'capabilities.completions');
    });

    test('tools/list carries resultType, ttlMs and cacheScope', async () => {
      const { response } = await client.request('tools/list');
      const result = assertComplete(response);
      assertCacheable(result);
      const names = result.tools.map((t) => t.name);
      for (const n of ['echo', 'calculate', 'word_stats', 'countdown', 'note_write', 'note_delete', 'note_summarize']) {
        assert.ok(names.includes(n), `tools/list lacks ${n}: ${names}`);
      }
    });

    test('resources/list and prompts/list are cacheable lists', async () => {
      const resources = assertComplete((await client.request('resources/list')).response);
      assertCacheable(resources);
      assert.ok(resources.resources.some((r) => r.uri === 'note://index'), JSON.stringify(resources.resources));
      const templates = assertComplete((await client.request('resources/templates/list')).response);
      assertCacheable(templates);
      assert.ok(templates.resourceTemplates.some((t) => t.uriTemplate === 'note://{name}'));
      const prompts = assertComplete((await client.request('prompts/list')).response);
      assertCacheable(prompts);
      assert.ok(prompts.prompts.some((p) => p.name === 'review_note'));
    });

    test('tools/call echo returns the text', async () => {
      const text = `hello ${kind} ${randomBytes(3).toString('hex')}`;
      const { response } = await callTool('echo', { text });
      const result = assertComplete(response);
      assert.deepEqual(result.content, [{ type: 'text', text }]);
      assert.notEqual(result.isError, true);
    });

    test('tools/call calculate returns structuredContent, bad input is a tool error', async () => {
      const ok = assertComplete((await callTool('calculate', { expression: '(2+3)*4' })).response);
      assert.deepEqual(ok.structuredContent, { expression: '(2+3)*4', result: 20 });
      const bad = assertComplete((await callTool('calculate', { expression: '(2+' })).response);
      assert.equal(bad.isError, true);
    });

    test('note_write then resources/read returns the note (cacheable result)', async () => {
      const name = uniqueName(`sl-${kind}-read`);
      const text = `note text ${randomBytes(4).toString('hex')}`;
      await writeNote(name, text);
      const result = assertComplete(await readNote(name));
      assertCacheable(result);
      assert.equal(result.contents.length, 1);
      assert.equal(result.contents[0].uri, `note://${name}`);
      assert.equal(result.contents[0].text, text);

      const index = assertComplete((await client.request('resources/read', { uri: 'note://index' })).response);
      assert.ok(index.contents[0].text.split('\n').includes(name), `note://index lacks ${name}`);
    });

    test('resources/read of an unknown note is error -32602', async () => {
      const response = await readNote(uniqueName('sl-missing'));
      assert.equal(response.result, undefined);
      assert.equal(response.error?.code, -32602, JSON.stringify(response));
    });

    test('MRTR: note_delete asks for input, the retry deletes, the state is single use', async () => {
      const name = uniqueName(`sl-${kind}-del`);
      await writeNote(name, 'to be deleted');

      const first = await callTool('note_delete', { name });
      assert.equal(first.response.error, undefined, JSON.stringify(first.response));
      const pending = first.response.result;
      assert.equal(pending.resultType, 'input_required', JSON.stringify(pending));
      assertServerInfo(pending);
      const ask = pending.inputRequests?.['input-1'];
      assert.ok(ask, `inputRequests lacks input-1: ${JSON.stringify(pending)}`);
      assert.equal(ask.method, 'elicitation/create');
      assert.equal(typeof ask.params?.message, 'string');
      assert.ok(ask.params?.requestedSchema?.properties?.confirm, JSON.stringify(ask.params));
      assert.equal(typeof pending.requestState, 'string');
      assert.ok(pending.requestState.length > 0);

      // The note is untouched until the user answered.
      assertComplete(await readNote(name));

      const inputResponses = { 'input-1': { action: 'accept', content: { confirm: true } } };
      const retry = await callTool('note_delete', { name }, { inputResponses, requestState: pending.requestState });
      const done = assertComplete(retry.response);
      assert.notEqual(done.isError, true, JSON.stringify(done));

      const gone = await readNote(name);
      assert.equal(gone.error?.code, -32602, `note should be gone: ${JSON.stringify(gone)}`);

      // Recreate the note: replaying the used requestState must not delete it again.
      await writeNote(name, 'recreated');
      const replay = await callTool('note_delete', { name }, { inputResponses, requestState: pending.requestState });
      assert.ok(replay.response.error, `replayed requestState was accepted: ${JSON.stringify(replay.response)}`);
      assert.equal(replay.response.result, undefined);
      const still = assertComplete(await readNote(name));
      assert.equal(still.contents[0].text, 'recreated');
    });

    test('MRTR: a tampered requestState is refused', async () => {
      const name = uniqueName(`sl-${kind}-tamper`);
      await writeNote(name, 'keep me');
      const pending = (await callTool('note_delete', { name })).response.result;
      assert.equal(pending?.resultType, 'input_required');
      const forged = tamper(pending.requestState);
      assert.notEqual(forged, pending.requestState);

      const inputResponses = { 'input-1': { action: 'accept', content: { confirm: true } } };
      const retry = await callTool('note_delete', { name }, { inputResponses, requestState: forged });
      assert.ok(retry.response.error, `tampered requestState was accepted: ${JSON.stringify(retry.response)}`);
      assert.equal(retry.response.result, undefined);
      const still = assertComplete(await readNote(name));
      assert.equal(still.contents[0].text, 'keep me');
    });

    test('MRTR: declining keeps the note', async () => {
      const name = uniqueName(`sl-${kind}-decline`);
      await writeNote(name, 'declined');
      const pending = (await callTool('note_delete', { name })).response.result;
      assert.equal(pending?.resultType, 'input_required');
      const retry = await callTool('note_delete', { name }, {
        inputResponses: { 'input-1': { action: 'decline' } },
        requestState: pending.requestState,
      });
      assertComplete(retry.response);
      const still = assertComplete(await readNote(name));
      assert.equal(still.contents[0].text, 'declined');
    });

    test('MRTR: note_summarize asks for sampling and returns the sampled text', async () => {
      const name = uniqueName(`sl-${kind}-sum`);
      await writeNote(name, 'A long note about many things.');
      const pending = (await callTool('note_summarize', { name })).response.result;
      assert.equal(pending?.resultType, 'input_required', JSON.stringify(pending));
      const ask = pending.inputRequests?.['input-1'];
      assert.equal(ask?.method, 'sampling/createMessage', JSON.stringify(pending));
      assert.ok(Array.isArray(ask.params?.messages));
      const sampled = `summary ${randomBytes(3).toString('hex')}`;
      const retry = await callTool('note_summarize', { name }, {
        inputResponses: { 'input-1': { role: 'assistant', content: { type: 'text', text: sampled }, model: 'test-model' } },
        requestState: pending.requestState,
      });
      const result = assertComplete(retry.response);
      assert.deepEqual(result.content, [{ type: 'text', text: sampled }]);
    });

    test('progress: countdown with a progressToken sends notifications/progress before the result', async () => {
      const progressToken = freshId('progress');
      const r = await callTool('countdown', { seconds: 2 }, { _meta: { progressToken } }, { timeoutMs: 15_000 });
      const result = assertComplete(r.response);
      assert.deepEqual(result.content, [{ type: 'text', text: 'Counted down from 2' }]);
      if (kind === 'http') assert.match(r.contentType, /text\/event-stream/);
      const progress = r.notifications.filter(
        (n) => n.method === 'notifications/progress' && n.params?.progressToken === progressToken,
      );
      assert.ok(progress.length >= 2, `expected progress notifications, got ${JSON.stringify(r.notifications)}`);
      let last = -Infinity;
      for (const p of progress) {
        assert.equal(p.params.total, 2);
        assert.ok(p.params.progress > last, 'progress must increase');
        assert.ok(p.params.progress >= 0 && p.params.progress <= 2);
        last = p.params.progress;
      }
    });

    test('completion/complete for the prompt and the resource template', async () => {
      const name = uniqueName(`slcompl${kind}`);
      await writeNote(name, 'completion');
      const prefix = name.slice(0, name.length - 3);

      const focus = assertComplete((await client.request('completion/complete', {
        ref: { type: 'ref/prompt', name: 'review_note' },
        argument: { name: 'focus', value: 'c' },
      })).response);
      assert.deepEqual([...focus.completion.values].sort(), ['clarity', 'correctness']);

      const byPrompt = assertComplete((await client.request('completion/complete', {
        ref: { type: 'ref/prompt', name: 'review_note' },
        argument: { name: 'name', value: prefix },
      })).response);
      assert.ok(byPrompt.completion.values.includes(name), JSON.stringify(byPrompt.completion));

      const byTemplate = assertComplete((await client.request('completion/complete', {
        ref: { type: 'ref/resource', uri: 'note://{name}' },
        argument: { name: 'name', value: prefix },
      })).response);
      assert.ok(byTemplate.completion.values.includes(name), JSON.stringify(byTemplate.completion));
    });

    test('prompts/get review_note embeds the note', async () => {
      const name = uniqueName(`sl-${kind}-prompt`);
      const text = `prompt body ${randomBytes(4).toString('hex')}`;
      await writeNote(name, text);
      const result = assertComplete((await client.request('prompts/get', {
        name: 'review_note', arguments: { name, focus: 'brevity' },
      })).response);
      assert.ok(Array.isArray(result.messages) && result.messages.length > 0);
      const embedded = result.messages.find((m) => m.content?.type === 'resource');
      assert.ok(embedded, `no embedded resource: ${JSON.stringify(result.messages)}`);
      assert.equal(embedded.content.resource.uri, `note://${name}`);
      assert.equal(embedded.content.resource.text, text);
      assert.ok(JSON.stringify(result.messages).includes('brevity'));
    });

    test('subscriptions/listen: ack first, then resources/updated tagged with the subscriptionId', async () => {
      const name = uniqueName(`sl-${kind}-sub`);
      const uri = `note://${name}`;
      const listener = await open();
      const writer = await open();
      let listen;
      try {
        listen = await listener.listen({ resourceSubscriptions: [uri] });
        const ack = await listen.waitFor(
          (m) => m.method === 'notifications/subscriptions/acknowledged' && m.params?._meta?.[META_SUBSCRIPTION] === listen.id,
          { what: 'notifications/subscriptions/acknowledged' },
        );
        assert.deepEqual(ack.params.notifications?.resourceSubscriptions, [uri]);

        // Written through another connection/request (and possibly another instance).
        const { response } = await writer.request('tools/call', { name: 'note_write', arguments: { name, text: 'ping' } });
        assertComplete(response);

        const updated = await listen.waitFor(
          (m) => m.method === 'notifications/resources/updated' && m.params?.uri === uri,
          { what: `notifications/resources/updated for ${uri}` },
        );
        assert.equal(updated.params._meta?.[META_SUBSCRIPTION], listen.id);
        const msgs = listen.queue.messages;
        assert.ok(msgs.indexOf(ack) < msgs.indexOf(updated), 'the ack must come before the update');
        // The listen request gets no final result while it is open.
        assert.equal(msgs.find((m) => m.id === listen.id && ('result' in m || 'error' in m)), undefined);
      } finally {
        await listen?.close();
        await listener.close();
        await writer.close();
      }
    });

    if (kind === 'http') {
      test('header mismatch: a wrong Mcp-Method is HTTP 400 with error -32020', async () => {
        const msg = {
          jsonrpc: '2.0', id: freshId('mismatch'), method: 'tools/call',
          params: withMeta({ name: 'echo', arguments: { text: 'x' } }),
        };
        const r = await httpPost(gw.httpUrl, msg, { headers: { 'mcp-method': 'tools/list' } });
        assert.equal(r.status, 400, r.raw);
        assert.equal(r.response?.error?.code, -32020, r.raw);
      });

      test('header mismatch: a wrong Mcp-Name is HTTP 400 with error -32020', async () => {
        const msg = {
          jsonrpc: '2.0', id: freshId('mismatch'), method: 'tools/call',
          params: withMeta({ name: 'echo', arguments: { text: 'x' } }),
        };
        const r = await httpPost(gw.httpUrl, msg, { headers: { 'mcp-name': 'calculate' } });
        assert.equal(r.status, 400, r.raw);
        assert.equal(r.response?.error?.code, -32020, r.raw);
      });
    }
  });
}

test('gateway is still alive after the stateless suite', () => {
  assert.ok(gw.alive(), `gateway died:\n${gw.stderr()}`);
  assert.doesNotMatch(gw.stderr(), /panicked/, `gateway panicked:\n${gw.stderr()}`);
});
