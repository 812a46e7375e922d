/**
 * The JSON Schema (draft 2020-12) of the PBX configuration file: the single source of truth.
 * config/switchboard.schema.json is written from this constant by scripts/write-config-schema
 * (a test fails if they differ), the validator walks it, and the loader's defaults are the
 * `default`s written here (normalize.ts reads them back through `schemaDefault`).
 *
 * Two keywords of our own, ignored by other tools: `x-hint` (advice printed with a problem
 * found at that node) and `x-message` (what to say when `pattern` fails, instead of the regex).
 */

/** The subset of JSON Schema the validator understands (validator.ts). */
export interface JsonSchema {
  readonly $schema?: string;
  readonly $id?: string;
  readonly $ref?: string;
  readonly $defs?: Readonly<Record<string, JsonSchema>>;
  readonly title?: string;
  readonly description?: string;
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: false | JsonSchema;
  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly uniqueItems?: boolean;
  readonly enum?: readonly (string | number | boolean)[];
  readonly const?: string | number | boolean;
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly oneOf?: readonly JsonSchema[];
  readonly default?: unknown;
  readonly examples?: readonly unknown[];
  readonly 'x-hint'?: string;
  readonly 'x-message'?: string;
}

const extensionNumber = {
  type: 'string',
  pattern: '^[0-9]{2,8}$',
  'x-message': 'must be 2 to 8 digits',
} as const;

const ipAddress = {
  type: 'string',
  pattern: '^[0-9A-Fa-f:.]+$',
  'x-message': 'must be an IPv4 or IPv6 address',
  'x-hint': '127.0.0.1 for this machine only, 0.0.0.0 or :: for every interface',
} as const;

const port = { type: 'integer', minimum: 1, maximum: 65535 } as const;

const phoneNumber = {
  type: 'string',
  pattern: '^\\+?[0-9*#]{1,32}$',
  'x-message': 'must be a phone number: digits, * or #, optionally starting with +',
} as const;

const seconds = (description: string, dflt: number, minimum = 1, maximum = 86_400) =>
  ({ type: 'integer', minimum, maximum, default: dflt, description }) as const;

const memberRingSeconds = {
  type: 'integer',
  minimum: 1,
  maximum: 3600,
  description: "Ring time per attempt in the strategies that ring one member at a time. Defaults to the group's ringSeconds.",
} as const;

const featureCode = (description: string, dflt: string) =>
  ({
    type: 'string',
    pattern: '^[0-9*#]{1,8}$',
    'x-message': 'must be 1 to 8 of the keys 0-9, * and #',
    default: dflt,
    description,
  }) as const;

export const configSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:switchboard:pbx-config:1',
  title: 'Switchboard PBX configuration',
  description:
    'The configuration of a Switchboard PBX: where it listens, its limits and security, and its tenants (SIP domains) with their extensions, groups, trunks and routes. Relative paths are resolved against the directory of the configuration file.',
  type: 'object',
  additionalProperties: false,
  required: ['tenants'],
  properties: {
    $schema: {
      type: 'string',
      description: 'The schema this file follows, for editors; ignored by Switchboard.',
    },
    listen: {
      type: 'array',
      description: 'The SIP sockets to listen on.',
      minItems: 1,
      items: { $ref: '#/$defs/listen' },
      default: [
        { transport: 'udp', address: '127.0.0.1', port: 5060 },
        { transport: 'tcp', address: '127.0.0.1', port: 5060 },
      ],
    },
    dataDir: {
      type: 'string',
      minLength: 1,
      description: 'Where voicemail, call records and other state are kept; relative to the configuration file.',
      default: './data',
    },
    logLevel: {
      type: 'string',
      enum: ['error', 'warn', 'info', 'debug'],
      description: 'The least severe log level printed.',
      default: 'info',
    },
    rtp: {
      type: 'object',
      description: 'Media (RTP/RTCP) sockets.',
      additionalProperties: false,
      default: {},
      properties: {
        address: { ...ipAddress, description: 'The address RTP sockets bind to.', default: '127.0.0.1' },
        advertisedAddress: {
          ...ipAddress,
          description: 'The address written into SDP when it differs from `address` (behind 1:1 NAT). Defaults to `address`.',
          'x-hint': 'the public address of this machine, as phones and carriers reach it',
        },
        portMin: { ...port, default: 20000, description: 'The lowest RTP port (even; RTCP uses the port above each RTP port).' },
        portMax: { ...port, default: 29999, description: 'The highest port of the RTP range.' },
        timeoutSeconds: seconds('A call whose media has stopped arriving for this long is hung up.', 30, 5, 3600),
      },
    },
    limits: {
      type: 'object',
      description: 'Limits that protect the machine.',
      additionalProperties: false,
      default: {},
      properties: {
        maxCalls: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 2000, description: 'Calls in progress at once, all tenants together; more are refused with 503.' },
        maxCallSeconds: seconds('A call is hung up after this long.', 14400),
        ringSeconds: seconds('Ring time for destinations that have none of their own (external numbers, other tenants).', 30, 1, 600),
      },
    },
    security: {
      type: 'object',
      description: 'Authentication and abuse protection.',
      additionalProperties: false,
      default: {},
      properties: {
        authFailureLimit: { type: 'integer', minimum: 1, maximum: 10_000, default: 10, description: 'Failed authentications from one source address within the window before it is blocked.' },
        authFailureWindowSeconds: seconds('The window over which failed authentications are counted.', 60),
        blockSeconds: seconds('How long a blocked source address is ignored.', 300),
        digestAlgorithms: {
          type: 'array',
          description: 'Digest algorithms offered in challenges, in order of preference (RFC 8760).',
          minItems: 1,
          uniqueItems: true,
          items: { type: 'string', enum: ['MD5', 'SHA-256'] },
          default: ['MD5'],
        },
        nonceSeconds: seconds('How long a digest nonce stays valid.', 300, 10, 86_400),
      },
    },
    tenants: {
      type: 'array',
      description: 'The tenants: one SIP domain each, isolated from each other unless `allowedTenants` says otherwise.',
      minItems: 1,
      items: { $ref: '#/$defs/tenant' },
    },
  },
  $defs: {
    listen: {
      description: 'A SIP socket.',
      oneOf: [
        {
          type: 'object',
          description: 'A UDP or TCP socket.',
          additionalProperties: false,
          required: ['transport'],
          properties: {
            transport: { type: 'string', enum: ['udp', 'tcp'], description: 'The transport.' },
            address: { ...ipAddress, description: 'The address to bind.', default: '127.0.0.1' },
            port: { ...port, description: 'The port to bind.', default: 5060 },
          },
        },
        {
          type: 'object',
          description: 'A TLS socket.',
          additionalProperties: false,
          required: ['transport', 'certFile', 'keyFile'],
          properties: {
            transport: { const: 'tls', description: 'The transport.' },
            address: { ...ipAddress, description: 'The address to bind.', default: '127.0.0.1' },
            port: { ...port, description: 'The port to bind.', default: 5061 },
            certFile: { type: 'string', minLength: 1, description: 'PEM certificate chain; relative to the configuration file.' },
            keyFile: { type: 'string', minLength: 1, description: 'PEM private key; relative to the configuration file.' },
          },
        },
      ],
    },
    tenant: {
      type: 'object',
      description: 'A tenant: a company, served on its own SIP domain.',
      additionalProperties: false,
      required: ['domain', 'name'],
      properties: {
        domain: {
          type: 'string',
          maxLength: 253,
          pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$',
          'x-message': 'must be a lower-case domain name',
          'x-hint': 'e.g. "pbx.example.com"; phones register as 1001@pbx.example.com',
          description: 'The SIP domain; phones use it in their account settings. Also the digest realm.',
        },
        name: { type: 'string', minLength: 1, maxLength: 200, description: 'A display name for the tenant.' },
        default: {
          type: 'boolean',
          default: false,
          description: 'This tenant serves requests addressed by IP address or by an unknown domain. At most one tenant.',
        },
        extensions: {
          type: 'array',
          description: 'The users (phones) of this tenant.',
          items: { $ref: '#/$defs/extension' },
          default: [],
        },
        groups: {
          type: 'array',
          description: 'Hunt / ring groups.',
          items: { $ref: '#/$defs/group' },
          default: [],
        },
        featureCodes: {
          type: 'object',
          description: 'Star codes.',
          additionalProperties: false,
          default: {},
          properties: {
            voicemail: featureCode('Dial to reach your own mailbox.', '*97'),
            voicemailAny: featureCode('Dial to reach any mailbox (asks for the mailbox number).', '*98'),
            groupPickup: featureCode('Dial to answer a call ringing in your pickup group.', '*8'),
            directedPickup: featureCode('Prefix: dial it then an extension number to answer that extension\'s ringing call.', '**'),
            blindTransfer: featureCode('Pressed during a call: transfer it without consultation.', '##'),
            attendedTransfer: featureCode('Pressed during a call: consult the target, then transfer.', '*2'),
          },
        },
        musicOnHold: {
          type: 'object',
          description: 'Music on hold.',
          additionalProperties: false,
          default: {},
          properties: {
            default: { type: 'string', minLength: 1, default: 'default', description: 'The class played unless something names another.' },
            classes: {
              type: 'object',
              description: 'Class name → WAV file (8 kHz mono; relative to the configuration file). A "default" class is added, playing the shipped moh/default.wav, unless given here.',
              additionalProperties: { type: 'string', minLength: 1, description: 'A WAV file.' },
              default: {},
            },
          },
        },
        trunks: {
          type: 'array',
          description: 'SIP trunks to carriers.',
          items: { $ref: '#/$defs/trunk' },
          default: [],
        },
        outboundRoutes: {
          type: 'array',
          description: 'Routes for numbers that are not extensions or groups, tried in order: the first route with a matching pattern wins.',
          items: { $ref: '#/$defs/outboundRoute' },
          default: [],
        },
        allowedTenants: {
          type: 'array',
          description: 'Domains of other tenants whose extensions this tenant may dial as number@domain. None by default: tenants are isolated.',
          uniqueItems: true,
          items: { type: 'string', minLength: 1 },
          default: [],
        },
        operator: {
          $ref: '#/$defs/destination',
          description:
            'Where a caller leaving a voicemail message goes on pressing 0 during the greeting: an extension, a group or an external number. None by default (0 does nothing).',
        },
        transferRecallSeconds: seconds(
          'How long a blind transfer rings its target before the call comes back to the transferor (recall); the transferor\'s tenant decides.',
          30,
          5,
          600,
        ),
      },
    },
    extension: {
      type: 'object',
      description: 'An extension: a user with one or more registered devices. Give `password` or `ha1`.',
      additionalProperties: false,
      required: ['number', 'name'],
      properties: {
        number: { ...extensionNumber, description: 'The extension number; also the SIP user name.' },
        name: { type: 'string', minLength: 1, maxLength: 100, description: 'The user\'s name; the default caller ID name and the dial-by-name entry.' },
        password: {
          type: 'string',
          minLength: 8,
          maxLength: 128,
          description: 'The SIP password.',
          'x-hint': 'phones on the Internet are attacked within minutes: use a long random password',
        },
        ha1: {
          type: 'object',
          description: 'Instead of `password`: precomputed digest HA1 = H(number:domain:password), lower- or upper-case hex, per algorithm.',
          additionalProperties: false,
          properties: {
            MD5: { type: 'string', pattern: '^[0-9A-Fa-f]+$', 'x-message': 'must be hexadecimal', description: 'MD5 HA1: 32 hex digits.' },
            'SHA-256': { type: 'string', pattern: '^[0-9A-Fa-f]+$', 'x-message': 'must be hexadecimal', description: 'SHA-256 HA1: 64 hex digits.' },
          },
        },
        digestAlgorithm: {
          type: 'string',
          enum: ['MD5', 'SHA-256'],
          description: 'Offer only this digest algorithm to this extension (for phones that fail on a second challenge). Defaults to security.digestAlgorithms.',
        },
        maxDevices: { type: 'integer', minimum: 1, maximum: 100, default: 3, description: 'Devices that may register at once; the oldest registration is dropped.' },
        callerId: {
          type: 'object',
          description: 'Caller ID shown to other extensions. Defaults to the extension\'s name and number.',
          additionalProperties: false,
          properties: {
            name: { type: 'string', maxLength: 100, description: 'Defaults to the extension\'s name.' },
            number: { ...phoneNumber, description: 'Defaults to the extension number.' },
          },
        },
        voicemail: {
          description: 'The mailbox, or false for none.',
          'x-hint': 'false for no mailbox, or an object such as {"pin": "1234"}',
          default: false,
          oneOf: [
            { const: false, description: 'No mailbox.' },
            {
              type: 'object',
              description: 'A mailbox.',
              additionalProperties: false,
              required: ['pin'],
              properties: {
                pin: { type: 'string', pattern: '^[0-9]{4,12}$', 'x-message': 'must be 4 to 12 digits', description: 'The PIN asked for when calling in.' },
                maxMessages: { type: 'integer', minimum: 1, maximum: 10_000, default: 100, description: 'Messages kept; callers hear "mailbox full" past this.' },
                maxMessageSeconds: seconds('The longest message recorded.', 180, 5, 3600),
              },
            },
          ],
        },
        pickupGroup: {
          type: 'string',
          pattern: '^[A-Za-z0-9_-]{1,32}$',
          'x-message': 'must be 1 to 32 letters, digits, _ or -',
          description: 'Extensions sharing a pickup group can answer each other\'s calls with featureCodes.groupPickup. None by default.',
        },
        callWaiting: { type: 'boolean', default: true, description: 'A second call rings while one is in progress (otherwise it gets busy).' },
        noAnswerSeconds: seconds('Ring time before the call goes to voicemail (or gets no-answer without a mailbox).', 20, 1, 600),
      },
    },
    group: {
      type: 'object',
      description: 'A hunt / ring group.',
      additionalProperties: false,
      required: ['number', 'name', 'members'],
      properties: {
        number: { ...extensionNumber, description: 'The number dialled to reach the group; shares the number space with extensions.' },
        name: { type: 'string', minLength: 1, maxLength: 100, description: 'The group\'s name.' },
        strategy: {
          type: 'string',
          enum: ['ringall', 'linear', 'roundrobin', 'leastrecent', 'fewestcalls', 'random', 'weightedrandom'],
          default: 'ringall',
          description:
            'ringall: every member at once; linear: in order; roundrobin: in order, starting after the last member tried; leastrecent: the member who answered least recently first; fewestcalls: the member with the fewest answered calls first; random; weightedrandom: random by `weight`.',
        },
        members: {
          type: 'array',
          description: 'Who is rung.',
          minItems: 1,
          items: { $ref: '#/$defs/groupMember' },
        },
        ringSeconds: seconds('Total ring time before `failover`.', 30, 1, 3600),
        skipBusy: { type: 'boolean', default: true, description: 'Do not ring members who are on a call.' },
        confirmCalls: { type: 'boolean', default: false, description: 'Members press 1 to accept the call (so an external member\'s voicemail does not answer it).' },
        callerIdNamePrefix: { type: 'string', maxLength: 40, default: '', description: 'Put before the caller ID name shown to members, e.g. "Sales: ".' },
        failover: { $ref: '#/$defs/destination', description: 'Where the call goes when nobody answers.', default: { type: 'hangup' } },
      },
    },
    groupMember: {
      description: 'A group member: an extension of this tenant or an external number.',
      'x-hint': 'e.g. {"extension": "1001"} or {"external": "+15551230000"}',
      oneOf: [
        {
          type: 'object',
          description: 'An extension.',
          additionalProperties: false,
          required: ['extension'],
          properties: {
            extension: { ...extensionNumber, description: 'The extension number.' },
            ringSeconds: memberRingSeconds,
            weight: { type: 'integer', minimum: 1, maximum: 100, default: 1, description: 'Relative chance under weightedrandom.' },
          },
        },
        {
          type: 'object',
          description: 'An external number, dialled through the outbound routes.',
          additionalProperties: false,
          required: ['external'],
          properties: {
            external: { ...phoneNumber, description: 'The number, as an extension would dial it.' },
            ringSeconds: memberRingSeconds,
            weight: { type: 'integer', minimum: 1, maximum: 100, default: 1, description: 'Relative chance under weightedrandom.' },
          },
        },
      ],
    },
    destination: {
      description: 'Where a call goes; chosen by `type`.',
      oneOf: [
        {
          type: 'object',
          description: 'Ring an extension (with its no-answer handling).',
          additionalProperties: false,
          required: ['type', 'number'],
          properties: {
            type: { const: 'extension', description: 'The kind of destination.' },
            number: { ...extensionNumber, description: 'The extension number.' },
          },
        },
        {
          type: 'object',
          description: 'A group.',
          additionalProperties: false,
          required: ['type', 'number'],
          properties: {
            type: { const: 'group', description: 'The kind of destination.' },
            number: { ...extensionNumber, description: 'The group number.' },
          },
        },
        {
          type: 'object',
          description: 'Leave a message in a mailbox.',
          additionalProperties: false,
          required: ['type', 'mailbox'],
          properties: {
            type: { const: 'voicemail', description: 'The kind of destination.' },
            mailbox: { ...extensionNumber, description: 'The extension whose mailbox takes the message.' },
          },
        },
        {
          type: 'object',
          description: 'Hang up.',
          additionalProperties: false,
          required: ['type'],
          properties: {
            type: { const: 'hangup', description: 'The kind of destination.' },
          },
        },
        {
          type: 'object',
          description: 'An external number, dialled through the outbound routes.',
          additionalProperties: false,
          required: ['type', 'number'],
          properties: {
            type: { const: 'external', description: 'The kind of destination.' },
            number: { ...phoneNumber, description: 'The number, as an extension would dial it.' },
          },
        },
      ],
    },
    trunk: {
      type: 'object',
      description: 'A SIP trunk to a carrier.',
      additionalProperties: false,
      required: ['name', 'host'],
      properties: {
        name: {
          type: 'string',
          pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$',
          'x-message': 'must be letters, digits, _ or - (starting with a letter or digit)',
          description: 'Names the trunk in outbound routes.',
        },
        host: {
          type: 'string',
          pattern: '^([A-Za-z0-9.-]+|\\[?[0-9A-Fa-f:.]+\\]?)$',
          'x-message': 'must be a host name or an IP address',
          description: 'The carrier\'s SIP server.',
        },
        port: { ...port, default: 5060, description: 'The carrier\'s SIP port (5061 is usual with TLS).' },
        transport: { type: 'string', enum: ['udp', 'tcp', 'tls'], default: 'udp', description: 'The transport to the carrier.' },
        username: { type: 'string', minLength: 1, maxLength: 128, description: 'The account user name. Without it the carrier must authenticate us by address.' },
        password: { type: 'string', minLength: 1, maxLength: 128, description: 'The account password.' },
        authUsername: { type: 'string', minLength: 1, maxLength: 128, description: 'The digest user name when it differs from `username`.' },
        register: { type: 'boolean', default: false, description: 'Register with the carrier so it sends calls to us (needs username and password).' },
        registerExpires: seconds('The registration lifetime asked for.', 600, 60, 86_400),
        fromUser: { type: 'string', minLength: 1, maxLength: 128, description: 'The From user part of calls we send. Defaults to `username`, else the caller ID number.' },
        fromDomain: { type: 'string', minLength: 1, maxLength: 253, description: 'The From host part of calls we send. Defaults to `host`.' },
        acceptFrom: {
          type: 'array',
          description: 'Source addresses (IP or CIDR) allowed to send calls for this trunk. Defaults to the addresses `host` resolves to.',
          minItems: 1,
          items: {
            type: 'string',
            pattern: '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$',
            'x-message': 'must be an IP address or a CIDR block',
            'x-hint': 'e.g. "203.0.113.7" or "203.0.113.0/24"',
          },
        },
        dids: {
          type: 'array',
          description: 'Numbers the carrier delivers on this trunk, and where each goes.',
          items: { $ref: '#/$defs/did' },
          default: [],
        },
      },
    },
    did: {
      type: 'object',
      description: 'An inbound number.',
      additionalProperties: false,
      required: ['number', 'destination'],
      properties: {
        number: { ...phoneNumber, description: 'The number as the carrier sends it in the Request-URI or To.' },
        destination: { $ref: '#/$defs/destination', description: 'Where calls to it go.' },
      },
    },
    outboundRoute: {
      type: 'object',
      description: 'An outbound route: numbers matching one of `patterns` go out through `trunks`.',
      additionalProperties: false,
      required: ['name', 'patterns', 'trunks'],
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 64, description: 'A name for logs and call records.' },
        patterns: {
          type: 'array',
          description: 'Dial patterns: "_" then X (0-9), Z (1-9), N (2-9), [1-5,7], and at the end "." (one or more) or "!" (zero or more); without "_", a literal number.',
          minItems: 1,
          items: { type: 'string', minLength: 1, maxLength: 64 },
        },
        strip: { type: 'integer', minimum: 0, maximum: 32, default: 0, description: 'Leading digits removed before sending (e.g. 1 for the "9" of "_9.").' },
        prepend: {
          type: 'string',
          pattern: '^[0-9+*#]*$',
          'x-message': 'must be digits, +, * or #',
          default: '',
          description: 'Added in front after stripping (e.g. "+1").',
        },
        trunks: {
          type: 'array',
          description: 'Trunk names, tried in order until one accepts the call.',
          minItems: 1,
          items: { type: 'string', minLength: 1 },
        },
        callerId: {
          type: 'object',
          description: 'Caller ID sent on this route. Defaults to the caller\'s own.',
          additionalProperties: false,
          required: ['number'],
          properties: {
            number: { ...phoneNumber, description: 'The caller ID number.' },
            name: { type: 'string', maxLength: 100, description: 'The caller ID name.' },
          },
        },
      },
    },
  },
} as const satisfies JsonSchema;

/** The schema file's text, exactly as config/switchboard.schema.json holds it. */
export function configSchemaText(): string {
  return `${JSON.stringify(configSchema, null, 2)}\n`;
}
