/**
 * The PBX configuration as the runtime sees it: what `loadConfig` returns after the file
 * passed the schema and the semantic checks, with every default filled in and every path made
 * absolute. Deeply readonly (and frozen at run time). The JSON shape, with each field's
 * meaning and default, is `configSchema` (schema.ts) and docs/pbx-config.md.
 */

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type DigestAlgorithm = 'MD5' | 'SHA-256';
export type SipTransportName = 'udp' | 'tcp' | 'tls';
export type GroupStrategy = 'ringall' | 'linear' | 'roundrobin' | 'leastrecent' | 'fewestcalls' | 'random' | 'weightedrandom';

export interface PbxConfig {
  /** Absolute path of the file this was loaded from. */
  readonly file: string;
  readonly listen: readonly ListenConfig[];
  /** Absolute. */
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  readonly rtp: RtpConfig;
  readonly limits: LimitsConfig;
  readonly security: SecurityConfig;
  readonly tenants: readonly TenantConfig[];
}

export type ListenConfig = PlainListenConfig | TlsListenConfig;

export interface PlainListenConfig {
  readonly transport: 'udp' | 'tcp';
  readonly address: string;
  readonly port: number;
}

export interface TlsListenConfig {
  readonly transport: 'tls';
  readonly address: string;
  readonly port: number;
  /** Absolute path of the PEM certificate chain. */
  readonly certFile: string;
  /** Absolute path of the PEM private key. */
  readonly keyFile: string;
}

export interface RtpConfig {
  /** The address media sockets bind to. */
  readonly address: string;
  /** The address written into SDP; null: `address`. */
  readonly advertisedAddress: string | null;
  /** Even. */
  readonly portMin: number;
  readonly portMax: number;
  /** A call whose media has been silent this long is hung up. */
  readonly timeoutSeconds: number;
}

export interface LimitsConfig {
  readonly maxCalls: number;
  readonly maxCallSeconds: number;
  /** Ring time for destinations that have none of their own (external, other tenants). */
  readonly ringSeconds: number;
}

export interface SecurityConfig {
  readonly authFailureLimit: number;
  readonly authFailureWindowSeconds: number;
  readonly blockSeconds: number;
  /** Offered in challenges, in this order, to extensions without a `digestAlgorithm`. */
  readonly digestAlgorithms: readonly DigestAlgorithm[];
  readonly nonceSeconds: number;
}

export interface TenantConfig {
  /** Lower-case SIP domain; also the digest realm. */
  readonly domain: string;
  readonly name: string;
  /** Serves requests addressed by IP address or by an unknown domain. At most one tenant. */
  readonly default: boolean;
  readonly extensions: readonly ExtensionConfig[];
  readonly groups: readonly GroupConfig[];
  readonly featureCodes: FeatureCodes;
  readonly musicOnHold: MusicOnHoldConfig;
  readonly trunks: readonly TrunkConfig[];
  /** Tried in this order; the first route with a matching pattern wins. */
  readonly outboundRoutes: readonly OutboundRouteConfig[];
  /** Domains whose extensions this tenant's dial plan may reach as number@domain. */
  readonly allowedTenants: readonly string[];
  /** Where `0` during a voicemail greeting takes the caller (an extension, group or external number); null: nowhere. */
  readonly operator: Destination | null;
  /** How long a blind transfer by one of this tenant's parties rings before the recall. */
  readonly transferRecallSeconds: number;
}

export interface ExtensionConfig {
  readonly number: string;
  readonly name: string;
  /** Exactly one of `password` and `ha1` is set. */
  readonly password: string | null;
  /** Precomputed H(number:domain:password) per algorithm, lower-case hex; null with `password`. */
  readonly ha1: Readonly<Partial<Record<DigestAlgorithm, string>>> | null;
  /** The algorithms to offer this extension: its `digestAlgorithm`, or security.digestAlgorithms. */
  readonly digestAlgorithms: readonly DigestAlgorithm[];
  readonly maxDevices: number;
  readonly callerId: CallerId;
  /** null: no mailbox. */
  readonly voicemail: VoicemailConfig | null;
  readonly pickupGroup: string | null;
  readonly callWaiting: boolean;
  /** Ring time before a call goes to voicemail (or is refused when there is no mailbox). */
  readonly noAnswerSeconds: number;
}

export interface CallerId {
  readonly name: string;
  readonly number: string;
}

export interface VoicemailConfig {
  readonly pin: string;
  readonly maxMessages: number;
  readonly maxMessageSeconds: number;
}

export interface GroupConfig {
  readonly number: string;
  readonly name: string;
  readonly strategy: GroupStrategy;
  readonly members: readonly GroupMember[];
  /** Total ring time before `failover`. */
  readonly ringSeconds: number;
  readonly skipBusy: boolean;
  /** Members press 1 to accept (useful for external members whose voicemail would answer). */
  readonly confirmCalls: boolean;
  readonly callerIdNamePrefix: string;
  readonly failover: Destination;
}

export type GroupMember = ExtensionGroupMember | ExternalGroupMember;

export interface ExtensionGroupMember {
  readonly type: 'extension';
  readonly number: string;
  /** Per attempt (linear and the like); ringall uses the group's ringSeconds. */
  readonly ringSeconds: number;
  readonly weight: number;
}

export interface ExternalGroupMember {
  readonly type: 'external';
  /** Dialled through the tenant's outbound routes. */
  readonly number: string;
  readonly ringSeconds: number;
  readonly weight: number;
}

/** Where a call goes. The same shape wherever the configuration names a target. */
export type Destination =
  | { readonly type: 'extension'; readonly number: string }
  | { readonly type: 'group'; readonly number: string }
  | { readonly type: 'voicemail'; readonly mailbox: string }
  | { readonly type: 'hangup' }
  | { readonly type: 'external'; readonly number: string };

export interface FeatureCodes {
  /** Dial to reach your own mailbox. */
  readonly voicemail: string;
  /** Dial to reach any mailbox (asks for the number). */
  readonly voicemailAny: string;
  /** Dial to answer a call ringing in your pickup group. */
  readonly groupPickup: string;
  /** Prefix: dial it and an extension number to answer that extension's ringing call. */
  readonly directedPickup: string;
  /** In-call DTMF: transfer without consultation. */
  readonly blindTransfer: string;
  /** In-call DTMF: consult, then transfer. */
  readonly attendedTransfer: string;
}

export interface MusicOnHoldConfig {
  /** A key of `classes`. */
  readonly default: string;
  /** Class name → absolute path of a WAV file. Always has a "default" class. */
  readonly classes: Readonly<Record<string, string>>;
}

export interface TrunkConfig {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly transport: SipTransportName;
  /** null: the carrier authenticates us by source address. */
  readonly username: string | null;
  readonly password: string | null;
  /** Digest user name; defaults to `username`. */
  readonly authUsername: string | null;
  readonly register: boolean;
  readonly registerExpires: number;
  /** From user part; defaults to `username`, else the caller's number. */
  readonly fromUser: string | null;
  /** From host part; defaults to `host`. */
  readonly fromDomain: string;
  /** Addresses or CIDR blocks (or the host name, resolved by the runtime) calls may come from. */
  readonly acceptFrom: readonly string[];
  readonly dids: readonly DidConfig[];
}

export interface DidConfig {
  readonly number: string;
  readonly destination: Destination;
}

export interface OutboundRouteConfig {
  readonly name: string;
  /** Dial patterns (see dialplan-pattern.ts); all compile. */
  readonly patterns: readonly string[];
  readonly strip: number;
  readonly prepend: string;
  /** Trunk names, tried in order (failover). */
  readonly trunks: readonly string[];
  /** null: the caller's own caller ID. */
  readonly callerId: { readonly number: string; readonly name: string | null } | null;
}
