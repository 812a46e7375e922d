/**
 * `switchboard/sip` transports: UDP, TCP, TLS and WebSocket (RFC 7118) behind one
 * {@link SipTransportSet}; RFC 3581 received/rport; RFC 3263 server location.
 */
export { SipTransportSet, type SipTransportSetOptions, type ListenOptions, type ConnectionInfo } from './sip-transport-set.js';
export { SipConnection } from './connection.js';
export { DEFAULT_TRANSPORT_LIMITS, type TransportLimits, type TransportStats } from './transport-limits.js';
export type { TlsServerCredentials, TlsClientOptions } from './stream-transport.js';
export { receivedVia, stampReceived, requestRport } from './received-rport.js';
export { resolveSipTargets, sendWithFailover, orderSrv, type ResolveOptions } from './dns-resolver.js';
export {
  serializeWebSocketFrame,
  WebSocketFrameParser,
  WebSocketProtocolError,
  Opcode as WebSocketOpcode,
  CloseCode as WebSocketCloseCode,
  closePayload as webSocketClosePayload,
  type WebSocketFrame,
  type WebSocketEvent,
  type WebSocketParserOptions,
} from './websocket-frame.js';
export { websocketAccept, SIP_SUBPROTOCOL } from './websocket-handshake.js';
export * from './types.js';
