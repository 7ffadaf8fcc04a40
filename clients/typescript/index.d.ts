// Types of index.mjs. The transport has the `Transport` shape of both SDK lines
// (`@modelcontextprotocol/sdk` 1.x, `@modelcontextprotocol/client` 2.x); it is declared here
// without importing either, so that it fits whichever the application uses.

export declare const SUBPROTOCOL: 'mcp';
export declare const AUTH_SUBPROTOCOL_PREFIX: 'mcp.auth.';
export declare const LIMIT_EXCEEDED: -32010;
export declare const MAX_MESSAGE_BYTES: number;
export declare const DEFAULT_KEEPALIVE_MS: number;

type JsonRpcId = string | number | null;
type JsonRpcMessage = { jsonrpc: '2.0'; id?: JsonRpcId; method?: string; [key: string]: unknown };

export declare class HandshakeError extends Error {
  readonly status: number;
  readonly reason: string;
}

export declare class LimitError extends Error {
  readonly code: -32010;
  readonly requestId: JsonRpcId;
  readonly data: unknown;
}

export declare class SessionRestartedError extends Error {}

export interface WebSocketTransportOptions {
  /** A bearer token for the `$connect` authorizer. */
  token?: string;
  /** Where the token travels: the `mcp.auth.<token>` subprotocol (default) or an `Authorization` header. */
  tokenIn?: 'subprotocol' | 'header';
  /** More handshake headers. */
  headers?: Record<string, string>;
  /** Idle time before a `ping` (2026-07-28: `server/discover`), in ms (default 5 minutes; 0 for none). API Gateway closes idle connections after 10 minutes. */
  keepaliveMs?: number;
  /** New connections tried, one after another, when one ends (default 5; 0 for none). */
  reconnects?: number;
  /** The wait before the first of them, doubled each time (default 500 ms). */
  reconnectDelayMs?: number;
  handshakeTimeoutMs?: number;
  /** Larger messages are refused before sending (default API Gateway's 128 KiB). */
  maxMessageBytes?: number;
  /** Called once a new connection serves: `sessionRestarted` for a session-era client. */
  onreconnect?: (info: { attempt: number; sessionRestarted: boolean }) => void;
}

export declare class WebSocketTransport {
  constructor(url: URL | string, options?: WebSocketTransportOptions);
  readonly url: URL;
  sessionId?: string;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JsonRpcMessage) => void;
  start(): Promise<void>;
  send(message: JsonRpcMessage): Promise<void>;
  close(): Promise<void>;
  setProtocolVersion(version: string): void;
}
