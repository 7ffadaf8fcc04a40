// A client transport for MCP over API Gateway WebSockets (docs/websocket.md), for the
// TypeScript SDK's `Client`: `@modelcontextprotocol/sdk` 1.x and `@modelcontextprotocol/client`
// 2.x take the same `Transport` shape. Both protocol eras travel over it unchanged.
//
// What it adds to a bare WebSocket, because API Gateway needs it:
// - the token, as the subprotocol `mcp.auth.<token>` or an `Authorization` header;
// - a refused handshake becomes a `HandshakeError` with the HTTP status and the reason;
// - a `ping` (2026-07-28: `server/discover`) after `keepaliveMs` without a message sent (API
//   Gateway closes a connection idle for 10 minutes);
// - a new connection when the old one ends (API Gateway closes every connection after 2
//   hours): a session-era client's session is gone with it, so the transport starts a new
//   one with the client's own `initialize` and says so (`onreconnect`, and a
//   `SessionRestartedError` to `onerror`); a 2026-07-28 client just goes on, and its
//   `subscriptions/listen` is sent again;
// - a message over API Gateway's 128 KiB is refused before it is sent, with a `LimitError`;
//   a `-32010` reply (a limit: rate, requests in flight) is also reported to `onerror` as a
//   `LimitError` that names the limit.
import WebSocket from 'ws';

export const SUBPROTOCOL = 'mcp';
export const AUTH_SUBPROTOCOL_PREFIX = 'mcp.auth.';
export const LIMIT_EXCEEDED = -32010;
/** API Gateway's largest WebSocket message. */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** API Gateway closes a connection idle for 10 minutes; a ping every 5 keeps it open. */
export const DEFAULT_KEEPALIVE_MS = 5 * 60_000;

const META_VERSION = 'io.modelcontextprotocol/protocolVersion';
/** Ids of the transport's own requests, which the client never sees answered. */
const OWN_ID_PREFIX = 'mcp-ws-transport-';

/** The server refused the WebSocket handshake: 401 (no or bad token), 403, 404 (no such server), 429. */
export class HandshakeError extends Error {
  constructor(url, status, reason) {
    super(`WebSocket handshake with ${url} refused: HTTP ${status}${reason ? ` (${reason})` : ''}`);
    this.name = 'HandshakeError';
    this.status = status;
    this.reason = reason;
  }
}

/** The server refused a request over one of its limits (JSON-RPC error -32010). */
export class LimitError extends Error {
  constructor(requestId, error) {
    super(`request ${JSON.stringify(requestId)} refused over a limit: ${error.message}`);
    this.name = 'LimitError';
    this.code = LIMIT_EXCEEDED;
    this.requestId = requestId;
    this.data = error.data;
  }
}

/** The connection ended and a new one started a new session: the old session's state is gone. */
export class SessionRestartedError extends Error {
  constructor(reason) {
    super(`the WebSocket connection ended (${reason}); a new session was started on a new connection, ` +
      'so what the old session held (subscriptions, the log level) must be set up again');
    this.name = 'SessionRestartedError';
  }
}

export class WebSocketTransport {
  /**
   * @param {URL | string} url the stage's `wss://` URL (with `?server=NAME` for a registered server)
   * @param {object} [options]
   * @param {string} [options.token] a bearer token for the `$connect` authorizer
   * @param {'subprotocol' | 'header'} [options.tokenIn] where the token travels (default: subprotocol,
   *   which works where headers cannot be set)
   * @param {Record<string, string>} [options.headers] more handshake headers
   * @param {number} [options.keepaliveMs] idle time before a `ping` (0: none)
   * @param {number} [options.reconnects] new connections tried, one after another, when one ends (0: none)
   * @param {number} [options.reconnectDelayMs] the wait before each of them, doubled each time
   * @param {number} [options.handshakeTimeoutMs]
   * @param {number} [options.maxMessageBytes] larger messages are refused before sending (API Gateway's 128 KiB)
   * @param {(info: {attempt: number, sessionRestarted: boolean}) => void} [options.onreconnect]
   */
  constructor(url, options = {}) {
    this.url = new URL(url);
    this.options = {
      tokenIn: 'subprotocol',
      headers: {},
      keepaliveMs: DEFAULT_KEEPALIVE_MS,
      reconnects: 5,
      reconnectDelayMs: 500,
      handshakeTimeoutMs: 10_000,
      maxMessageBytes: MAX_MESSAGE_BYTES,
      ...options,
    };
    /** Requests sent and not yet answered, by id: the message, to fail or resend after a reconnect. */
    this.pending = new Map();
    this.socket = undefined;
    this.closing = false;
    this.started = false;
    this.lastSent = Date.now();
    this.ownIds = 0;
    /** The client's `initialize` (session era), replayed on a new connection. */
    this.initialize = undefined;
    /** The `_meta` of the client's last 2026-07-28 request, reused by the keepalive ping. */
    this.statelessMeta = undefined;
    this.keepaliveTimer = undefined;
    /** Replies awaited by the transport's own requests, by id. */
    this.ownReplies = new Map();
    /** Settled while no new connection is being made: messages sent meanwhile wait for it. */
    this.ready = Promise.resolve();
    this.onclose = undefined;
    this.onerror = undefined;
    this.onmessage = undefined;
  }

  /** The Transport's start: called by `client.connect(transport)`. */
  async start() {
    if (this.started) throw new Error('WebSocketTransport already started (client.connect starts it)');
    this.started = true;
    this.socket = await this.open();
    this.startKeepalive();
  }

  async send(message) {
    await this.ready;
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) throw new Error('not connected');
    if (message.method === 'initialize' && message.id !== undefined) this.initialize = message;
    const meta = message.params?._meta;
    if (meta?.[META_VERSION]) this.statelessMeta = meta;
    const text = JSON.stringify(message);
    const bytes = Buffer.byteLength(text);
    if (bytes > this.options.maxMessageBytes) {
      throw new LimitError(message.id ?? null, {
        message: `the message is ${bytes} bytes; API Gateway takes at most ${this.options.maxMessageBytes} in one message`,
      });
    }
    if (message.method !== undefined && message.id !== undefined) this.pending.set(message.id, message);
    // A cancelled request gets no reply: it is no longer waited for.
    if (message.method === 'notifications/cancelled') this.pending.delete(message.params?.requestId);
    await this.writeText(text);
  }

  async close() {
    this.closing = true;
    clearInterval(this.keepaliveTimer);
    const socket = this.socket;
    if (socket && socket.readyState === WebSocket.OPEN) {
      await new Promise((resolve) => {
        socket.once('close', resolve);
        socket.close(1000);
      });
    } else {
      // Between connections (a reconnection stops at its next step) or never connected.
      socket?.terminate();
      this.closed();
    }
  }

  /** Says `onclose` once, however the transport ended. */
  closed() {
    if (this.closeReported) return;
    this.closeReported = true;
    clearInterval(this.keepaliveTimer);
    this.onclose?.();
  }

  setProtocolVersion(version) {
    this.protocolVersion = version;
  }

  // --- the connection ---

  /**
   * Opens a connection; resolves with its socket once it is open, rejects with a
   * HandshakeError if refused. Only the current socket's messages and close count.
   */
  open() {
    const { token, tokenIn, headers, handshakeTimeoutMs } = this.options;
    const protocols = [SUBPROTOCOL];
    const allHeaders = { ...headers };
    if (token && tokenIn === 'header') allHeaders.authorization = `Bearer ${token}`;
    else if (token) protocols.push(`${AUTH_SUBPROTOCOL_PREFIX}${token}`);
    const socket = new WebSocket(this.url, protocols, { headers: allHeaders, handshakeTimeout: handshakeTimeoutMs });
    return new Promise((resolve, reject) => {
      let opened = false;
      socket.on('unexpected-response', (_request, response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => { if (body.length < 4096) body += chunk; });
        response.on('end', () => reject(new HandshakeError(this.url, response.statusCode, reason(body))));
        response.on('error', () => reject(new HandshakeError(this.url, response.statusCode, reason(body))));
      });
      socket.on('open', () => {
        opened = true;
        this.lastSent = Date.now();
        resolve(socket);
      });
      socket.on('message', (data, isBinary) => {
        if (socket === this.socket) this.receive(data, isBinary);
      });
      socket.on('error', (error) => {
        if (!opened) reject(error);
        else if (socket === this.socket) this.onerror?.(error);
      });
      socket.on('close', (code, why) => {
        if (opened && socket === this.socket) this.ended(code, why.toString()).catch((error) => this.onerror?.(error));
      });
    });
  }

  /** A connection that was open has closed: by us, or by the server or the network. */
  async ended(code, why) {
    if (this.closing) {
      this.closed();
      return;
    }
    const reasonText = `close code ${code}${why ? `: ${why}` : ''}`;
    let reconnected;
    this.ready = new Promise((resolve) => { reconnected = resolve; });
    try {
      await this.reconnect(reasonText);
    } finally {
      reconnected();
    }
  }

  async reconnect(reasonText) {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (let attempt = 1; attempt <= this.options.reconnects && !this.closing; attempt++) {
      await sleep(this.options.reconnectDelayMs * 2 ** (attempt - 1));
      if (this.closing) break;
      let socket;
      try {
        socket = await this.open();
      } catch (error) {
        this.onerror?.(error);
        continue;
      }
      if (this.closing) {
        socket.terminate();
        break;
      }
      this.socket = socket;
      if (await this.resume(attempt, reasonText, waiting)) return;
      // The new session could not start: this socket is dropped and the next attempt made.
      this.socket = undefined;
      socket.terminate();
    }
    this.fail(waiting, reasonText);
    this.closed();
  }

  /** Fails requests the client still waits for: they may or may not have run. */
  fail(requests, reasonText) {
    for (const request of requests) {
      this.onmessage?.({
        jsonrpc: '2.0',
        id: request.id,
        error: { code: -32000, message: `the connection ended before the reply (${reasonText}); the request may or may not have run` },
      });
    }
    requests.length = 0;
  }

  /**
   * On a new connection: a new session for a session-era client; the same listens for a
   * 2026-07-28 one. False when the new session could not start (the caller tries again).
   */
  async resume(attempt, reasonText, waiting) {
    const sessionEra = this.initialize !== undefined;
    try {
      if (sessionEra) {
        await this.ownRequest('initialize', this.initialize.params);
        await this.write({ jsonrpc: '2.0', method: 'notifications/initialized' });
      }
      // A listen has no final result over WebSocket: it is sent again and goes on. Any other
      // request may or may not have run: the client hears so, rather than waiting forever.
      const listens = sessionEra ? [] : waiting.filter((r) => r.method === 'subscriptions/listen');
      for (const listen of listens) {
        this.pending.set(listen.id, listen);
        await this.write(listen);
      }
      this.fail(waiting.filter((r) => !listens.includes(r)), reasonText);
    } catch (error) {
      this.onerror?.(error);
      return false;
    }
    this.options.onreconnect?.({ attempt, sessionRestarted: sessionEra });
    if (sessionEra) this.onerror?.(new SessionRestartedError(reasonText));
    return true;
  }

  receive(data, isBinary) {
    if (isBinary) {
      this.onerror?.(new Error('binary WebSocket frame dropped (MCP messages are text frames)'));
      return;
    }
    let message;
    try {
      message = JSON.parse(data.toString('utf8'));
    } catch (error) {
      this.onerror?.(new Error(`a frame that is not JSON was dropped: ${error.message}`));
      return;
    }
    if (message?.jsonrpc !== '2.0') {
      // API Gateway's own messages ("Endpoint request timed out", "Internal server error").
      this.onerror?.(new Error(`API Gateway: ${message?.message ?? JSON.stringify(message)}`));
      return;
    }
    const isReply = message.method === undefined && message.id !== undefined;
    if (isReply && typeof message.id === 'string' && message.id.startsWith(OWN_ID_PREFIX)) {
      this.ownReplies.get(message.id)?.(message);
      return;
    }
    if (isReply) {
      this.pending.delete(message.id);
      if (message.error?.code === LIMIT_EXCEEDED) this.onerror?.(new LimitError(message.id, message.error));
      // A refusal of a message the server could not read names no request: the client
      // could match it to none, and some clients close the connection over it.
      if (message.id === null) {
        if (message.error?.code !== LIMIT_EXCEEDED) this.onerror?.(new Error(`the server refused a message: ${message.error?.message}`));
        return;
      }
    }
    this.onmessage?.(message);
  }

  // --- the transport's own requests: keepalive pings, a new session's initialize ---

  /** Sends a request of the transport's own and waits for its result (10 s at most). */
  ownRequest(method, params) {
    const id = `${OWN_ID_PREFIX}${++this.ownIds}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.ownReplies.delete(id);
        reject(new Error(`no reply to ${method} within 10 s`));
      }, 10_000);
      this.ownReplies.set(id, (reply) => {
        clearTimeout(timer);
        this.ownReplies.delete(id);
        if (reply.error) reject(new Error(`${method} failed: ${reply.error.message} (${reply.error.code})`));
        else resolve(reply.result);
      });
      this.write({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) }).catch(reject);
    });
  }

  startKeepalive() {
    const every = this.options.keepaliveMs;
    if (!every) return;
    this.keepaliveTimer = setInterval(() => {
      if (Date.now() - this.lastSent < every || this.socket?.readyState !== WebSocket.OPEN) return;
      // 2026-07-28 has no `ping`: its keepalive is `server/discover`, complete in itself with
      // the client's last `_meta`.
      const stateless = this.initialize === undefined && this.statelessMeta;
      const [method, params] = stateless ? ['server/discover', { _meta: this.statelessMeta }] : ['ping', undefined];
      this.ownRequest(method, params).catch((error) => this.onerror?.(error));
    }, Math.max(10, Math.min(every / 4, 30_000)));
    this.keepaliveTimer.unref?.();
  }

  write(message) {
    return this.writeText(JSON.stringify(message));
  }

  writeText(text) {
    const socket = this.socket;
    this.lastSent = Date.now();
    return new Promise((resolve, reject) => {
      socket.send(text, (error) => (error ? reject(error) : resolve()));
    });
  }
}

/** A refusal's body as a reason: API Gateway answers `{"message": ...}`, the local gateway plain text. */
function reason(body) {
  const text = body.trim();
  try {
    const parsed = JSON.parse(text);
    if (typeof parsed?.message === 'string') return parsed.message;
  } catch {
    // not JSON
  }
  return text;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
