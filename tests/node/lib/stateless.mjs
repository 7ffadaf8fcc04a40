// Tiny raw clients for the stateless 2026-07-28 protocol era, over Streamable HTTP (fetch) and
// over WebSocket (Node 22's global WebSocket, subprotocol `mcp`). Every wait is bounded.

export const PROTOCOL_VERSION = '2026-07-28';
export const META_VERSION = 'io.modelcontextprotocol/protocolVersion';
export const META_CAPS = 'io.modelcontextprotocol/clientCapabilities';
export const META_CLIENT = 'io.modelcontextprotocol/clientInfo';
export const META_SERVER = 'io.modelcontextprotocol/serverInfo';
export const META_SUBSCRIPTION = 'io.modelcontextprotocol/subscriptionId';

export const DEFAULT_TIMEOUT_MS = 10_000;

export const CLIENT_CAPABILITIES = { elicitation: { form: {} }, sampling: {} };

/** The `_meta` every stateless request carries, merged with `extra` (e.g. a progressToken). */
export function statelessMeta(extra = {}) {
  return {
    [META_VERSION]: PROTOCOL_VERSION,
    [META_CAPS]: CLIENT_CAPABILITIES,
    [META_CLIENT]: { name: 'node-e2e-stateless', version: '0.0.0' },
    ...extra,
  };
}

/** Adds the stateless `_meta` to params (keeping any `_meta` entries already there). */
export function withMeta(params = {}) {
  return { ...params, _meta: statelessMeta(params._meta ?? {}) };
}

let nextId = 1;
export function freshId(prefix = 'r') {
  return `${prefix}-${process.pid}-${nextId++}`;
}

/** The headers a stateless HTTP request needs for `msg`. */
export function statelessHeaders(msg) {
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': PROTOCOL_VERSION,
    'mcp-method': msg.method,
  };
  if (['tools/call', 'prompts/get'].includes(msg.method)) headers['mcp-name'] = msg.params?.name;
  if (msg.method === 'resources/read') headers['mcp-name'] = msg.params?.uri;
  if (['tasks/get', 'tasks/update', 'tasks/cancel'].includes(msg.method)) headers['mcp-name'] = msg.params?.taskId;
  return headers;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Incremental SSE parser: feed text chunks, get the `data:` payloads of complete events. */
export class SseParser {
  constructor() { this.buf = ''; }
  push(chunk) {
    this.buf += chunk.replace(/\r\n?/g, '\n');
    const events = [];
    let idx;
    while ((idx = this.buf.indexOf('\n\n')) !== -1) {
      const block = this.buf.slice(0, idx);
      this.buf = this.buf.slice(idx + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data) events.push(data);
    }
    return events;
  }
}

/** A queue of received messages with a bounded `waitFor(predicate)`. */
export class MessageQueue {
  constructor() { this.messages = []; this.waiters = []; this.closedError = null; }
  push(msg) {
    this.messages.push(msg);
    for (const w of [...this.waiters]) {
      if (w.predicate(msg)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(msg);
      }
    }
  }
  close(err) {
    this.closedError = err ?? new Error('stream closed');
    for (const w of this.waiters.splice(0)) w.reject(this.closedError);
  }
  waitFor(predicate, { timeoutMs = DEFAULT_TIMEOUT_MS, what = 'a matching message' } = {}) {
    const found = this.messages.find(predicate);
    if (found) return Promise.resolve(found);
    if (this.closedError) return Promise.reject(this.closedError);
    let waiter;
    const p = new Promise((resolve, reject) => { waiter = { predicate, resolve, reject }; this.waiters.push(waiter); });
    return withTimeout(p, timeoutMs, what).finally(() => {
      const i = this.waiters.indexOf(waiter);
      if (i !== -1) this.waiters.splice(i, 1);
    });
  }
}

// ---------------------------------------------------------------- HTTP

/**
 * POSTs one JSON-RPC message and reads the whole reply (JSON or SSE).
 * Returns {status, headers, contentType, messages, response, notifications, raw}.
 */
export async function httpPost(url, msg, { headers = {}, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`HTTP ${msg.method} timed out after ${timeoutMs} ms`)), timeoutMs);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { ...statelessHeaders(msg), ...headers },
      body: JSON.stringify(msg),
      signal: ac.signal,
    });
    const raw = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    let messages = [];
    if (contentType.includes('text/event-stream')) {
      messages = new SseParser().push(raw.endsWith('\n\n') ? raw : `${raw}\n\n`).map((d) => JSON.parse(d));
    } else if (raw.trim()) {
      const parsed = JSON.parse(raw);
      messages = Array.isArray(parsed) ? parsed : [parsed];
    }
    const response = messages.find((m) => 'id' in m && m.id === msg.id && ('result' in m || 'error' in m));
    const notifications = messages.filter((m) => !('id' in m));
    return { status: res.status, headers: res.headers, contentType, messages, response, notifications, raw };
  } finally {
    clearTimeout(timer);
  }
}

/** Opens a long-lived POST whose reply is an SSE stream (subscriptions/listen). Call close() when done. */
export async function httpStream(url, msg, { headers = {}, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error('opening the stream timed out')), timeoutMs);
  let res;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { ...statelessHeaders(msg), ...headers },
      body: JSON.stringify(msg),
      signal: ac.signal,
    });
  } finally {
    clearTimeout(timer);
  }
  const queue = new MessageQueue();
  const contentType = res.headers.get('content-type') ?? '';
  const pump = (async () => {
    const parser = new SseParser();
    const decoder = new TextDecoder();
    try {
      if (!contentType.includes('text/event-stream')) {
        const raw = await res.text();
        if (raw.trim()) queue.push(JSON.parse(raw));
        return;
      }
      for await (const chunk of res.body) {
        for (const data of parser.push(decoder.decode(chunk, { stream: true }))) queue.push(JSON.parse(data));
      }
    } catch {
      // aborted by close()
    } finally {
      queue.close(new Error('HTTP stream ended'));
    }
  })();
  return {
    status: res.status,
    contentType,
    queue,
    waitFor: (pred, opts) => queue.waitFor(pred, opts),
    async close() {
      ac.abort();
      await withTimeout(pump, 5_000, 'the HTTP stream to close').catch(() => {});
    },
  };
}

/** A stateless client over HTTP with the same shape as WsClient. */
export class HttpClient {
  constructor(url) { this.url = url; this.kind = 'http'; }
  static async open(url) { return new HttpClient(url); }
  /** Sends a request; resolves {response, notifications} once the response arrived. */
  async request(method, params = {}, { id = freshId('http'), timeoutMs = DEFAULT_TIMEOUT_MS, headers } = {}) {
    const msg = { jsonrpc: '2.0', id, method, params: withMeta(params) };
    const r = await httpPost(this.url, msg, { timeoutMs, headers });
    if (!r.response) throw new Error(`no JSON-RPC response to ${method} (HTTP ${r.status}): ${r.raw}`);
    return { ...r, response: r.response, notifications: r.notifications };
  }
  /** Opens subscriptions/listen; returns {id, waitFor, close}. */
  async listen(notifications, { id = freshId('listen') } = {}) {
    const msg = { jsonrpc: '2.0', id, method: 'subscriptions/listen', params: withMeta({ notifications }) };
    const s = await httpStream(this.url, msg);
    if (s.status !== 200) throw new Error(`subscriptions/listen answered HTTP ${s.status}`);
    return { id, status: s.status, contentType: s.contentType, waitFor: s.waitFor, close: s.close, queue: s.queue };
  }
  async close() {}
}

// ---------------------------------------------------------------- WebSocket

/** A stateless client over one WebSocket connection (subprotocol `mcp`). */
export class WsClient {
  constructor(ws) {
    this.kind = 'ws';
    this.ws = ws;
    this.queue = new MessageQueue();
    ws.addEventListener('message', (ev) => {
      let msg;
      try { msg = JSON.parse(typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data).toString('utf8')); } catch { return; }
      for (const m of Array.isArray(msg) ? msg : [msg]) this.queue.push(m);
    });
    ws.addEventListener('close', () => this.queue.close(new Error('WebSocket closed')));
  }

  static open(url, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    return withTimeout(new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'mcp');
      ws.addEventListener('open', () => resolve(new WsClient(ws)), { once: true });
      ws.addEventListener('error', (e) => reject(e.error ?? new Error('WebSocket error')), { once: true });
    }), timeoutMs, `WebSocket ${url} to open`);
  }

  send(msg) { this.ws.send(JSON.stringify(msg)); }

  /** Sends a request; resolves {response, notifications} where notifications are those that
   *  arrived on the connection between sending and the response. */
  async request(method, params = {}, { id = freshId('ws'), timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    const start = this.queue.messages.length;
    this.send({ jsonrpc: '2.0', id, method, params: withMeta(params) });
    const response = await this.queue.waitFor(
      (m) => m.id === id && ('result' in m || 'error' in m),
      { timeoutMs, what: `the response to ${method} (id ${id})` },
    );
    const upto = this.queue.messages.indexOf(response);
    const notifications = this.queue.messages.slice(start, upto).filter((m) => !('id' in m));
    return { response, notifications };
  }

  /** Sends subscriptions/listen; its ack and notifications arrive as frames on this connection. */
  async listen(notifications, { id = freshId('listen') } = {}) {
    this.send({ jsonrpc: '2.0', id, method: 'subscriptions/listen', params: withMeta({ notifications }) });
    return {
      id,
      waitFor: (pred, opts) => this.queue.waitFor(pred, opts),
      close: async () => {},
      queue: this.queue,
    };
  }

  async close() {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => this.ws.addEventListener('close', resolve, { once: true }));
    this.ws.close();
    await withTimeout(closed, 5_000, 'the WebSocket to close').catch(() => {});
  }
}
