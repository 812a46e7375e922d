#!/usr/bin/env node
/**
 * The `switchboard` command: with no arguments it starts the PBX on the shipped demo
 * configuration; `check-config` validates a file. The work is in src/pbx (cli.ts, pbx.ts);
 * this file only wires the process to it: arguments, signals, exit codes.
 */
import { checkConfig } from '../src/pbx/config/check.js';
import { ConfigError, loadConfig } from '../src/pbx/config/index.js';
import { USAGE, UsageError, parseCommandLine, softphoneHelp } from '../src/pbx/cli.js';
import { Logger } from '../src/pbx/logger.js';
import { standardFeatures } from '../src/pbx/features/index.js';
import { Pbx } from '../src/pbx/pbx.js';

async function main(): Promise<number> {
  let cli;
  try {
    cli = parseCommandLine(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`switchboard: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  switch (cli.command) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'version':
      process.stdout.write('switchboard 0.1.0\n');
      return 0;
    case 'check-config': {
      const result = await checkConfig(cli.file);
      (result.ok ? process.stdout : process.stderr).write(result.output);
      return result.ok ? 0 : 1;
    }
    case 'start':
      break;
  }
  let config;
  try {
    config = await loadConfig(cli.config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`switchboard: the configuration has errors:\n${e.message}\n`);
    return 1;
  }
  const logger = new Logger({ level: cli.logLevel ?? config.logLevel, sipTrace: cli.sipTrace });
  let pbx: Pbx;
  try {
    pbx = await Pbx.start({ config, logger, ...standardFeatures().pbxOptions, ...(cli.listen === undefined ? {} : { listen: cli.listen }), ...(cli.dataDir === undefined ? {} : { dataDir: cli.dataDir }) });
  } catch (e) {
    process.stderr.write(`switchboard: cannot start: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(softphoneHelp(config, cli.listen ?? config.listen, cli.demo));
  process.on('SIGHUP', () => void pbx.reloadFile());
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info(`${signal}: stopping (grace ${cli.graceSeconds} s)`);
      void pbx.stop(cli.graceSeconds * 1000).finally(resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

process.exitCode = await main();
