/**
 * SIP over WebSocket (RFC 7118) on `node:http`/`node:https`: the listener takes the HTTP
 * upgrade (RFC 6455 §4.2) and requires the `sip` subprotocol; plain HTTP requests get 426.
 * The client side sends the upgrade with a random key and checks the server's
 * `Sec-WebSocket-Accept` and subprotocol. Both hand the upgraded socket to the transport
 * set, which wraps it in a {@link WebSocketConnection}.
 */
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { TlsClientOptions, TlsServerCredentials } from './stream-transport.js';
import { TransportError, type Endpoint } from './types.js';
import { checkUpgradeRequest, refusalResponse, SIP_SUBPROTOCOL, upgradeResponse, websocketAccept, websocketKey } from './websocket-handshake.js';

/**
 * A WS or WSS listener.
 *
 * @example
 * ```ts
 * const l = await WebSocketListener.listen('ws', '127.0.0.1', 0, undefined, {
 *   accept: () => true,
 *   onUpgrade: (socket, head) => wrap(socket, head),
 *   onError: console.error,
 *   onDrop: () => refused++,
 * }, 10_000, 1024);
 * ```
 */
export class WebSocketListener {
  private constructor(
    private readonly server: Server,
    readonly local: Endpoint,
  ) {}

  static listen(
    protocol: 'ws' | 'wss',
    address: string,
    port: number,
    tls: TlsServerCredentials | undefined,
    handlers: {
      /** Whether to take one more connection (the connection cap). */
      accept(): boolean;
      onUpgrade(socket: Socket, head: Buffer): void;
      onError(error: unknown, context: string): void;
      /** A socket past `maxConnections` was dropped by Node. */
      onDrop(): void;
    },
    handshakeTimeoutMs: number,
    maxConnections: number,
  ): Promise<WebSocketListener> {
    let server: Server;
    // How often Node checks handshakes against headersTimeout/requestTimeout.
    const connectionsCheckingInterval = Math.max(100, Math.min(handshakeTimeoutMs / 2, 30_000));
    if (protocol === 'wss') {
      if (tls === undefined) return Promise.reject(new TransportError('A WSS listener needs tls: { key, cert }'));
      server = createHttpsServer({ key: tls.key, cert: tls.cert, ca: tls.ca, handshakeTimeout: handshakeTimeoutMs, connectionsCheckingInterval });
    } else {
      server = createHttpServer({ connectionsCheckingInterval });
    }
    server.maxConnections = maxConnections;
    server.on('drop', () => handlers.onDrop());
    server.headersTimeout = handshakeTimeoutMs;
    server.requestTimeout = handshakeTimeoutMs;
    server.maxHeadersCount = 64;
    server.on('connection', (socket: Socket) => {
      if (!handlers.accept()) socket.destroy();
    });
    server.on('request', (_req, res) => {
      // Not an upgrade: RFC 6455 §4.2.2 / RFC 7231 §6.5.15.
      res.writeHead(426, { Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', Connection: 'close', 'Content-Type': 'text/plain' });
      res.end('WebSocket (subprotocol sip) required\n');
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      try {
        const check = checkUpgradeRequest(req.method, req.headers);
        if (!check.ok) {
          socket.end(refusalResponse(check.status, check.reason));
          return;
        }
        socket.write(upgradeResponse(check.key));
        handlers.onUpgrade(socket, head);
      } catch (e) {
        handlers.onError(e, 'websocket upgrade');
        socket.destroy();
      }
    });
    server.on('clientError', (err, socket: Socket) => {
      handlers.onError(err, 'websocket http');
      socket.destroy();
    });
    server.on('tlsClientError', (err) => handlers.onError(err, 'wss handshake'));
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => reject(new TransportError(`Cannot listen on ${protocol.toUpperCase()} ${address}:${port}: ${err.message}`));
      server.once('error', fail);
      server.listen(port, address, () => {
        server.off('error', fail);
        server.on('error', (err) => handlers.onError(err, `${protocol} listener`));
        const a = server.address();
        const p = typeof a === 'object' && a !== null ? a.port : port;
        resolve(new WebSocketListener(server, { protocol, address, port: p }));
      });
    });
  }

  /** Stops accepting and drops HTTP connections that were not upgraded. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/**
 * Opens a WS or WSS connection to `address:port` and performs the opening handshake with
 * `Sec-WebSocket-Protocol: sip`. Resolves with the upgraded socket and any bytes that came
 * with the 101; rejects with {@link TransportError} on refusal, a bad accept value, a
 * missing subprotocol, or after `timeoutMs`.
 *
 * @example
 * ```ts
 * const { socket, head } = await connectWebSocket('ws', '127.0.0.1', 8080, '/', undefined, 10_000);
 * ```
 */
export function connectWebSocket(
  protocol: 'ws' | 'wss',
  address: string,
  port: number,
  path: string,
  tls: TlsClientOptions | undefined,
  timeoutMs: number,
  options: { subprotocol?: string | null; signal?: AbortSignal } = {},
): Promise<{ socket: Socket; head: Buffer }> {
  const destination = { protocol, address, port };
  const key = websocketKey();
  const subprotocol = options.subprotocol === undefined ? SIP_SUBPROTOCOL : options.subprotocol;
  const headers: Record<string, string> = {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Key': key,
    'Sec-WebSocket-Version': '13',
  };
  if (subprotocol !== null) headers['Sec-WebSocket-Protocol'] = subprotocol;
  const common = { host: address, port, path, method: 'GET', headers, agent: false as const };
  const req =
    protocol === 'wss'
      ? httpsRequest({ ...common, ca: tls?.ca, key: tls?.key, cert: tls?.cert, rejectUnauthorized: tls?.rejectUnauthorized ?? true, servername: tls?.servername })
      : httpRequest(common);
  return new Promise((resolve, reject) => {
    let settled = false;
    const signal = options.signal;
    const onAbort = (): void => fail('aborted: the transport set is closing');
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(timer);
      req.destroy();
      reject(new TransportError(`WebSocket connection to ${address}:${port} failed: ${message}`, destination));
    };
    const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
    timer.unref();
    req.on('error', (err) => fail(err.message));
    req.on('response', (res) => {
      res.resume();
      fail(`server answered ${res.statusCode ?? '?'} ${res.statusMessage ?? ''}`.trim());
    });
    req.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
      if (settled) {
        socket.destroy();
        return;
      }
      if (res.headers['sec-websocket-accept'] !== websocketAccept(key)) {
        socket.destroy();
        fail('bad Sec-WebSocket-Accept');
        return;
      }
      if (subprotocol !== null && res.headers['sec-websocket-protocol'] !== subprotocol) {
        socket.destroy();
        fail(`server did not accept subprotocol ${subprotocol}`);
        return;
      }
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(timer);
      resolve({ socket, head });
    });
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort);
    req.end();
  });
}
