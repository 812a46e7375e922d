#!/usr/bin/env node
/**
 * The `switchboard` command. The PBX that `start` will run arrives with the PBX core
 * (src/pbx); until then the command prints its usage and exits non-zero for unknown
 * sub-commands, so scripts notice.
 */
import { checkConfig } from '../src/pbx/config/check.js';

const usage = `switchboard — SIP/RTP stack and virtual PBX for Node.js

Usage:
  switchboard start [--config FILE]     start the PBX (not available yet: see README)
  switchboard check-config FILE         validate a configuration file (docs/pbx-config.md)
  switchboard version                   print the version
  switchboard help                      this text
`;

const [cmd] = process.argv.slice(2);
switch (cmd) {
  case undefined:
  case 'help':
  case '--help':
  case '-h':
    process.stdout.write(usage);
    break;
  case 'version':
  case '--version':
    process.stdout.write('switchboard 0.1.0\n');
    break;
  case 'check-config': {
    const file = process.argv[3];
    if (file === undefined) {
      process.stderr.write(`switchboard: check-config needs a FILE\n\n${usage}`);
      process.exitCode = 2;
      break;
    }
    const result = await checkConfig(file);
    (result.ok ? process.stdout : process.stderr).write(result.output);
    process.exitCode = result.ok ? 0 : 1;
    break;
  }
  default:
    process.stderr.write(`switchboard: '${cmd}' is not available in this build\n\n${usage}`);
    process.exitCode = 2;
}
