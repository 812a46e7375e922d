/**
 * `switchboard/sip` digest authentication (RFC 7616, RFC 8760, RFC 3261 §22): the client
 * that answers 401/407 challenges and the server that issues and checks them.
 */
export {
  DIGEST_ALGORITHMS,
  algorithmStrength,
  computeHA1,
  computeHA1Set,
  computeResponse,
  computeSessionHA1,
  formatNc,
  hashAvailable,
  hashHex,
  hashOf,
  isSessionAlgorithm,
  parseAlgorithm,
  type DigestAlgorithm,
  type DigestHash,
  type DigestQop,
  type DigestResponseInput,
  type HA1Set,
} from './digest.js';
export {
  DigestClient,
  retryWithCredentials,
  type CredentialsHeader,
  type DigestClientOptions,
  type DigestCredentials,
} from './digest-client.js';
export {
  DigestServer,
  passwordLookup,
  type ChallengeOptions,
  type DigestFailure,
  type DigestServerOptions,
  type DigestVerifyResult,
  type HA1Lookup,
} from './digest-server.js';
export { decodeExtValue, encodeExtValue, credentialsUsername } from './username.js';
