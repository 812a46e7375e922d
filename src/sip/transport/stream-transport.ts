/**
 * Listening and connecting for the stream transports: TCP (`node:net`) and TLS
 * (`node:tls`, certificate and key from options; RFC 3261 §26.2). The sockets are handed to
 * the transport set, which wraps them in {@link StreamConnection}s.
 */
import { connect as netConnect, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { TransportError, type Endpoint, type TransportProtocol } from './types.js';

/** Certificate and key of a TLS (or WSS) listener; `ca` to verify client certificates. */
export interface TlsServerCredentials {
  key: string | Buffer;
  cert: string | Buffer;
  ca?: string | Buffer | Array<string | Buffer>;
  /** Ask clients for certificates (mutual TLS, RFC 5922). Default false. */
  requestCert?: boolean;
}

/** How we check servers when we connect over TLS or WSS. */
export interface TlsClientOptions {
  /** Trusted CAs (default: Node's bundled roots). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Our certificate and key, for servers that ask (mutual TLS). */
  key?: string | Buffer;
  cert?: string | Buffer;
  /** Default true: refuse servers whose certificate does not verify. */
  rejectUnauthorized?: boolean;
  /** SNI and the name checked in the certificate (default: the destination address). */
  servername?: string;
}

/**
 * A TCP or TLS listening socket.
 *
 * @example
 * ```ts
 * const l = await StreamListener.listen('tcp', '127.0.0.1', 0, undefined, (socket) => accept(socket), console.error, {
 *   maxConnections: 1024, handshakeTimeoutMs: 10_000, onDrop: () => refused++,
 * });
 * l.local; // { protocol: 'tcp', address: '127.0.0.1', port: 40311 }
 * ```
 */
export class StreamListener {
  private constructor(
    private readonly server: Server,
    readonly local: Endpoint,
  ) {}

  /** Listens; `onSocket` gets every accepted socket (TLS: after its handshake). */
  static listen(
    protocol: 'tcp' | 'tls',
    address: string,
    port: number,
    tls: TlsServerCredentials | undefined,
    onSocket: (socket: Socket) => void,
    onError: (error: unknown, context: string) => void,
    bounds: { maxConnections: number; handshakeTimeoutMs: number; onDrop: () => void },
  ): Promise<StreamListener> {
    let server: Server;
    if (protocol === 'tls') {
      if (tls === undefined) return Promise.reject(new TransportError('A TLS listener needs tls: { key, cert }'));
      const s = createTlsServer({
        key: tls.key,
        cert: tls.cert,
        ca: tls.ca,
        requestCert: tls.requestCert ?? false,
        rejectUnauthorized: tls.requestCert ?? false,
        handshakeTimeout: bounds.handshakeTimeoutMs,
      });
      s.on('secureConnection', (socket: TLSSocket) => onSocket(socket));
      s.on('tlsClientError', (err) => onError(err, 'tls handshake'));
      server = s;
    } else {
      server = createNetServer((socket) => onSocket(socket));
    }
    // The kernel-level cap: sockets past it (TLS handshakes in progress included) are dropped
    // by Node before any work is done for them.
    server.maxConnections = bounds.maxConnections;
    server.on('drop', () => bounds.onDrop());
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => reject(new TransportError(`Cannot listen on ${protocol.toUpperCase()} ${address}:${port}: ${err.message}`));
      server.once('error', fail);
      server.listen(port, address, () => {
        server.off('error', fail);
        server.on('error', (err) => onError(err, `${protocol} listener`));
        const a = server.address();
        const p = typeof a === 'object' && a !== null ? a.port : port;
        resolve(new StreamListener(server, { protocol, address, port: p }));
      });
    });
  }

  /** Stops accepting (open connections are closed by their owner). */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Opens a TCP or TLS connection; rejects with {@link TransportError} on refusal, TLS
 * failure or after `timeoutMs`.
 *
 * @example
 * ```ts
 * const socket = await connectStream('tls', '192.0.2.4', 5061, { ca }, 10_000);
 * ```
 */
export function connectStream(protocol: TransportProtocol, address: string, port: number, tls: TlsClientOptions | undefined, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const destination = { protocol, address, port };
    let socket: Socket;
    const onAbort = (): void => fail(new Error('aborted: the transport set is closing'));
    const ready = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', fail);
      resolve(socket);
    };
    const fail = (err: Error): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(new TransportError(`Cannot connect to ${protocol.toUpperCase()} ${address}:${port}: ${err.message}`, destination));
    };
    if (protocol === 'tls' || protocol === 'wss') {
      socket = tlsConnect({
        host: address,
        port,
        ca: tls?.ca,
        key: tls?.key,
        cert: tls?.cert,
        rejectUnauthorized: tls?.rejectUnauthorized ?? true,
        servername: tls?.servername ?? (/^[\d.]+$|:/.test(address) ? undefined : address),
      }, ready);
    } else {
      socket = netConnect({ host: address, port }, ready);
    }
    socket.once('error', fail);
    const timer = setTimeout(() => fail(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort);
  });
}
