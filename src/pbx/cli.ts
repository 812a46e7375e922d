/**
 * The `switchboard` command line: argument parsing (pure, tested on its own) and the `start`
 * command that runs a {@link Pbx} until SIGINT/SIGTERM, reloading on SIGHUP.
 *
 * ```
 * switchboard [start] [--config FILE] [--data DIR] [--listen [udp:|tcp:]ADDR:PORT]... [--log-level L] [--sip-trace]
 * switchboard check-config FILE
 * switchboard version | help
 * ```
 *
 * @example
 * ```ts
 * parseCommandLine(['--listen', 'udp:0.0.0.0:5070', '--sip-trace']);
 * // { command: 'start', listen: [{ transport: 'udp', address: '0.0.0.0', port: 5070 }], sipTrace: true, … }
 * ```
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ListenConfig, LogLevel, PbxConfig } from './config/index.js';

/** What the command line asks for. */
export type CommandLine =
  | {
      command: 'start';
      /** Absolute path of the configuration (the shipped demo when not given). */
      config: string;
      demo: boolean;
      dataDir: string | undefined;
      listen: ListenConfig[] | undefined;
      logLevel: LogLevel | undefined;
      sipTrace: boolean;
      graceSeconds: number;
    }
  | { command: 'check-config'; file: string }
  | { command: 'version' }
  | { command: 'help' };

/** A command line we cannot act on; the message says why. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `switchboard — SIP/RTP stack and virtual PBX for Node.js

Usage:
  switchboard [start] [options]         start the PBX (the shipped demo configuration by default)
  switchboard check-config FILE         validate a configuration file (docs/pbx-config.md)
  switchboard version                   print the version
  switchboard help                      this text

Options of start:
  --config FILE        configuration file (default: config/demo.json of the package)
  --data DIR           data directory (default: the configuration's dataDir)
  --listen SPEC        listen on [udp:|tcp:]ADDR:PORT (repeatable; without a transport: UDP and TCP);
                       replaces the configuration's listeners. IPv6: tcp:[::1]:5060
  --log-level LEVEL    error, warn, info (default: the configuration's) or debug
  --sip-trace          print every SIP message sent and received
  --grace SECONDS      on SIGINT/SIGTERM, how long calls may go on before they are hung up (default 5)

Signals: SIGHUP reloads the configuration (a bad file is refused, the running one stays);
SIGINT/SIGTERM stop accepting calls, end them within the grace period, flush CDRs and exit.
`;

/** The shipped demo configuration: config/demo.json at the package root, from this module's place in src/pbx or dist/src/pbx. */
export function demoConfigPath(): string {
  const root = dirname(fileURLToPath(import.meta.url)).replace(/[\\/](dist[\\/])?src[\\/]pbx$/, '');
  return resolve(root, 'config', 'demo.json');
}

/**
 * Reads a `--listen` value: `udp:1.2.3.4:5060`, `tcp:[::1]:5060`, or `1.2.3.4:5060` (UDP and TCP).
 *
 * @example
 * ```ts
 * parseListen('127.0.0.1:5070'); // udp and tcp on 127.0.0.1:5070
 * ```
 */
export function parseListen(spec: string): ListenConfig[] {
  let rest = spec;
  let transports: ('udp' | 'tcp')[] = ['udp', 'tcp'];
  const m = /^(udp|tcp):(.*)$/i.exec(spec);
  if (m !== null) {
    transports = [m[1]!.toLowerCase() as 'udp' | 'tcp'];
    rest = m[2]!;
  }
  const hp = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(rest);
  if (hp === null) throw new UsageError(`--listen ${spec}: expected [udp:|tcp:]ADDRESS:PORT (IPv6 in brackets)`);
  const address = hp[1] ?? hp[2]!;
  const port = Number(hp[3]);
  if (port > 65535) throw new UsageError(`--listen ${spec}: port ${port} is out of range`);
  return transports.map((transport) => ({ transport, address, port }));
}

const LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

/**
 * Parses the arguments after the program name. Throws {@link UsageError}.
 *
 * @example
 * ```ts
 * parseCommandLine(['check-config', 'pbx.json']); // { command: 'check-config', file: 'pbx.json' }
 * ```
 */
export function parseCommandLine(args: readonly string[], cwd = process.cwd()): CommandLine {
  const [first, ...rest] = args;
  switch (first) {
    case 'help':
    case '--help':
    case '-h':
      return { command: 'help' };
    case 'version':
    case '--version':
      return { command: 'version' };
    case 'check-config': {
      const file = rest[0];
      if (file === undefined) throw new UsageError('check-config needs a FILE');
      return { command: 'check-config', file };
    }
    default:
      break;
  }
  const options = first === 'start' ? rest : args;
  let config: string | undefined;
  let dataDir: string | undefined;
  let listen: ListenConfig[] | undefined;
  let logLevel: LogLevel | undefined;
  let sipTrace = false;
  let graceSeconds = 5;
  for (let i = 0; i < options.length; i++) {
    const arg = options[i]!;
    const value = (): string => {
      const v = options[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--config':
        config = resolve(cwd, value());
        break;
      case '--data':
        dataDir = resolve(cwd, value());
        break;
      case '--listen':
        listen = [...(listen ?? []), ...parseListen(value())];
        break;
      case '--log-level': {
        const v = value();
        if (!LEVELS.includes(v as LogLevel)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}, not ${v}`);
        logLevel = v as LogLevel;
        break;
      }
      case '--sip-trace':
        sipTrace = true;
        break;
      case '--grace': {
        const v = Number(value());
        if (!Number.isFinite(v) || v < 0) throw new UsageError('--grace needs a number of seconds');
        graceSeconds = v;
        break;
      }
      default:
        throw new UsageError(`unknown ${arg.startsWith('-') ? 'option' : 'command'} '${arg}'`);
    }
  }
  return { command: 'start', config: config ?? demoConfigPath(), demo: config === undefined, dataDir, listen, logLevel, sipTrace, graceSeconds };
}

/**
 * The lines that tell a person how to point a softphone at the PBX: server, domain, and each
 * extension's user name (with the password only for the shipped demo, whose passwords are
 * public anyway).
 *
 * @example
 * ```ts
 * process.stdout.write(softphoneHelp(config, listen, true));
 * ```
 */
export function softphoneHelp(config: PbxConfig, listen: readonly ListenConfig[], demo: boolean): string {
  const servers = [...new Set(listen.map((l) => `${l.address === '0.0.0.0' || l.address === '::' ? '<this host>' : l.address}:${l.port}`))];
  const transports = [...new Set(listen.map((l) => l.transport.toUpperCase()))].join('/');
  const lines = ['', 'Register a softphone (Linphone, MicroSIP, Zoiper, baresip…) with:', `  server (proxy/registrar): ${servers.join(', ')} over ${transports}`];
  for (const t of config.tenants) {
    lines.push(`  domain: ${t.domain}${t.default ? ' (or the server address)' : ''}`);
    for (const e of t.extensions.slice(0, 10)) {
      lines.push(`    user ${e.number} (${e.name})${demo && e.password !== null ? `, password ${e.password}` : ''}`);
    }
    if (t.extensions.length > 10) lines.push(`    … and ${t.extensions.length - 10} more`);
  }
  lines.push('Then call another extension, e.g. 1002.', '');
  return lines.join('\n');
}
