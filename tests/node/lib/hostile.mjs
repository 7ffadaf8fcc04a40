// Low-level clients for the bad-input suite: an HTTP client that sends exactly the bytes and
// headers it is given (node:http, no fetch normalisation), a WebSocket client with a frame
// queue (Node 22's global WebSocket), and a raw WebSocket client over a TCP socket for frames
// no library will send (invalid UTF-8 in a text frame). Every wait is bounded.
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rejects with `what` after `ms` unless `promise` settles first. */
export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Parses a response body: JSON, or SSE whose `data:` lines carry JSON-RPC messages. */
export function parseBody(contentType, text) {
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('text/event-stream')) {
    const messages = [];
    for (const block of text.split(/\r?\n\r?\n/)) {
      const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (data.trim() === '') continue;
      try { messages.push({ raw: data, json: JSON.parse(data) }); } catch { messages.push({ raw: data, json: undefined }); }
    }
    const response = messages.find((m) => m.json && typeof m.json === 'object' && !Array.isArray(m.json)
      && !('method' in m.json) && ('result' in m.json || 'error' in m.json));
    return { sse: true, messages, json: response?.json, raw: response?.raw ?? text };
  }
  if (text.length === 0) return { sse: false, messages: [], json: undefined, raw: '' };
  try { return { sse: false, messages: [], json: JSON.parse(text), raw: text }; } catch { return { sse: false, messages: [], json: undefined, raw: text }; }
}

/**
 * One HTTP request with full control. `headers` are sent as given (lower-case names; Host may
 * be overridden). `body` is a string or Buffer; `chunks` (array of Buffers) sends a chunked body.
 * Resolves { status, headers, text, json, raw, sse } once the response has ended.
 */
export function httpCall(url, { method = 'POST', headers = {}, body, chunks, timeoutMs = 15_000, localAddress } = {}) {
  const u = new URL(url);
  return withTimeout(new Promise((resolve, reject) => {
    const h = { ...headers };
    let payload;
    if (body !== undefined && chunks === undefined) {
      payload = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
      h['content-length'] = String(payload.length);
    }
    if (chunks !== undefined) h['transfer-encoding'] = 'chunked';
    let responded = false;
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: h, agent: false, localAddress,
    }, (res) => {
      responded = true;
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        const parsed = parseBody(res.headers['content-type'], text);
        resolve({ status: res.statusCode, headers: res.headers, text, ...parsed });
      });
    });
    req.on('error', (e) => {
      // The server may answer (413) and close before the whole body is written.
      if (!responded && !['EPIPE', 'ECONNRESET'].includes(e.code)) reject(e);
      else if (!responded) setTimeout(() => { if (!responded) reject(e); }, 2_000);
    });
    if (chunks !== undefined) {
      (async () => {
        // Paced, so that an early answer (413 before the body is complete) is read before
        // the server's close turns further writes into EPIPE.
        for (const c of chunks) {
          if (responded || req.destroyed) break;
          if (!req.write(c)) await new Promise((r) => { req.once('drain', r); req.once('close', r); });
          await sleep(10);
        }
        if (!req.destroyed) req.end();
      })().catch(() => {});
    } else if (payload !== undefined) {
      req.end(payload);
    } else {
      req.end();
    }
  }), timeoutMs, `${method} ${url}`);
}

/** A frame received over WebSocket. */
function frameOf(data) {
  if (typeof data === 'string') {
    let json;
    try { json = JSON.parse(data); } catch { json = undefined; }
    return { binary: false, raw: data, json };
  }
  return { binary: true, raw: Buffer.from(data).toString('utf8'), json: undefined };
}

/** A response-shaped frame (not a server notification or server request). */
export const isResponse = (f) => f.json !== undefined && f.json !== null && typeof f.json === 'object'
  && !Array.isArray(f.json) && !('method' in f.json);

/** WebSocket client (subprotocol mcp) with a queue of received frames. */
export class WsClient {
  static async connect(url, { timeoutMs = 10_000, protocols = 'mcp' } = {}) {
    const ws = new WebSocket(url, protocols);
    ws.binaryType = 'arraybuffer';
    const client = new WsClient(ws);
    await withTimeout(new Promise((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error('WebSocket connection failed')), { once: true });
      ws.addEventListener('close', (e) => reject(new Error(`WebSocket closed during connect (${e.code})`)), { once: true });
    }), timeoutMs, `WebSocket connect ${url}`);
    if (ws.protocol !== 'mcp') throw new Error(`server selected subprotocol ${JSON.stringify(ws.protocol)}, expected "mcp"`);
    return client;
  }

  constructor(ws) {
    this.ws = ws;
    this.frames = [];
    this.closed = null;
    this.wake = () => {};
    ws.addEventListener('message', (e) => { this.frames.push(frameOf(e.data)); this.wake(); });
    ws.addEventListener('close', (e) => { this.closed = { code: e.code, reason: e.reason }; this.wake(); });
  }

  get open() { return this.closed === null && this.ws.readyState === WebSocket.OPEN; }

  send(data) { this.ws.send(data); }

  /**
   * The first queued or future frame matching `pred` (removed from the queue). Resolves
   * { closed } instead if the socket closes first; rejects after `timeoutMs`.
   */
  async next(pred, timeoutMs = 10_000, what = 'a frame') {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex(pred);
      if (i >= 0) return this.frames.splice(i, 1)[0];
      if (this.closed) return { closed: this.closed };
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => { clearTimeout(t); resolve(); };
      });
    }
  }

  /** Sends a request object and waits for the response with its id. */
  async request(message, timeoutMs = 10_000) {
    this.send(JSON.stringify(message));
    const f = await this.next((x) => isResponse(x) && x.json.id === message.id, timeoutMs, `response to ${message.method} (${message.id})`);
    if (f.closed) throw new Error(`WebSocket closed (${f.closed.code}) before the response to ${message.method}`);
    return f.json;
  }

  close() {
    try { this.ws.close(); } catch { /* already closed */ }
  }
}

/** Encodes one client (masked) WebSocket frame. */
export function wsFrame(opcode, payload, fin = true) {
  const len = payload.length;
  let header;
  if (len < 126) {
    header = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len]);
  } else if (len < 65536) {
    header = Buffer.alloc(4);
    header[0] = (fin ? 0x80 : 0) | opcode; header[1] = 0x80 | 126; header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = (fin ? 0x80 : 0) | opcode; header[1] = 0x80 | 127; header.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = crypto.randomBytes(4);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([header, mask, masked]);
}

/**
 * A WebSocket over a raw TCP socket. `send(opcode, bytes)` writes a frame; `events()` lists
 * what came back: { type: 'text'|'binary'|'close', payload, code } and { type: 'end' }.
 */
export class RawWs {
  static async connect(wsUrl, { timeoutMs = 10_000, protocol = 'mcp', headers = {} } = {}) {
    const u = new URL(wsUrl);
    const sock = net.connect({ host: u.hostname, port: Number(u.port) });
    const raw = new RawWs(sock);
    const key = crypto.randomBytes(16).toString('base64');
    await withTimeout(new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.once('connect', () => {
        const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
          + (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '');
        sock.write(`GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
          + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
      });
      raw.onHandshake = (status) => (status === 101 ? resolve() : reject(new Error(`handshake status ${status}`)));
    }), timeoutMs, 'raw WebSocket handshake');
    return raw;
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.handshaken = false;
    this.events = [];
    this.wake = () => {};
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.parse(); this.wake(); });
    sock.on('end', () => { this.events.push({ type: 'end' }); this.wake(); });
    sock.on('close', () => { this.events.push({ type: 'end' }); this.wake(); });
    sock.on('error', (e) => { this.events.push({ type: 'end', error: e.code }); this.wake(); });
  }

  parse() {
    if (!this.handshaken) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString('latin1');
      this.buf = this.buf.subarray(end + 4);
      this.handshaken = true;
      this.onHandshake?.(Number(head.split(' ')[1]));
    }
    for (;;) {
      if (this.buf.length < 2) return;
      const opcode = this.buf[0] & 0x0f;
      let len = this.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (this.buf.length < 4) return; len = this.buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (this.buf.length < 10) return; len = Number(this.buf.readBigUInt64BE(2)); off = 10; }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      if (opcode === 1) this.events.push({ type: 'text', payload: payload.toString('utf8') });
      else if (opcode === 2) this.events.push({ type: 'binary', payload });
      else if (opcode === 8) this.events.push({ type: 'close', code: payload.length >= 2 ? payload.readUInt16BE(0) : undefined });
      else if (opcode === 9) this.sock.write(wsFrame(10, payload));
    }
  }

  send(opcode, bytes) { this.sock.write(wsFrame(opcode, bytes)); }

  /** Takes the first event matching `pred` (or sees the socket end); bounded. */
  async until(pred, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex(pred);
      if (i >= 0) return this.events.splice(i, 1)[0];
      const end = this.events.find((x) => x.type === 'end');
      if (end) return end;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => { clearTimeout(t); resolve(); };
      });
    }
  }

  destroy() { this.sock.destroy(); }
}

/**
 * Sends six messages (`message(id)` for ids 1 to 6) on `client` when five a minute are
 * allowed, and checks that exactly one is refused with -32010 and a retry hint. Messages are
 * handled concurrently, so which one is the sixth counted is not fixed. Returns the replies.
 */
export async function sixthMessageIsLimited(client, message) {
  for (let id = 1; id <= 6; id++) client.send(message(id));
  const replies = [];
  for (let id = 1; id <= 6; id++) replies.push((await client.next((f) => f.json?.id === id)).json);
  const refused = replies.filter((r) => r.error);
  if (refused.length !== 1) throw new Error(`expected one refusal: ${JSON.stringify(replies)}`);
  if (refused[0].error.code !== -32010) throw new Error(`expected -32010: ${JSON.stringify(refused[0])}`);
  if (!(refused[0].error.data?.retryAfterMs > 0)) throw new Error(`no retryAfterMs: ${JSON.stringify(refused[0])}`);
  return replies;
}
