/** `switchboard/pbx`: the multi-tenant PBX — configuration, registrar, B2BUA, trunks, CDRs, features. */
export * from './config/index.js';
export { compileDialPattern, compareDialPatterns, applyRoute, DialPatternError, type DialPattern, type DialPatternTail } from './dialplan-pattern.js';
export { TenantDirectory } from './tenant-directory.js';
export { Pbx, type PbxOptions } from './pbx.js';
export { B2bua, bestFailureStatus, COMPLETED_ELSEWHERE, type B2buaDeps, type Caller, type FeatureHooks, type PbxCall, type RingOptions, type RingOutcome, type RingTarget } from './b2bua.js';
export { DeviceAuth, FailureThrottle, type DeviceAuthOptions, type DeviceAuthResult, type FailureThrottleOptions } from './device-auth.js';
export { PbxRegistrar, type PbxRegistrarOptions, type DeviceContact, type DeviceRegistration, type PbxRegisterOutcome } from './pbx-registrar.js';
export { RegistrationStore, RegistrationStoreError, type RegistrationStoreOptions, type SavedBinding } from './registration-store.js';
export { DeviceKeepalive, type DeviceKeepaliveOptions, type KeepaliveSender } from './device-keepalive.js';
export { TrunkRouter, shouldFailOver, ipInCidr, type TrunkDial, type OutboundPlan, type TrunkRouterOptions, type UnresolvedHost } from './trunk-router.js';
export { TrunkRegistrations, trunkRetryDelay, type TrunkRegistrationState, type TrunkRegistrationEvents, type TrunkRegistrationsOptions, type TrunkRegistrationStatus } from './trunk-registrations.js';
export { CdrWriter, CdrOverflowError, readCdrs, openCdrFile, type CallDetailRecord, type CdrFile, type CdrWriterOptions, type ReadCdrsOptions } from './cdr-writer.js';
export { Logger, type LogFields, type LoggerOptions } from './logger.js';
export { parseCommandLine, parseListen, softphoneHelp, demoConfigPath, UsageError, USAGE, type CommandLine } from './cli.js';
