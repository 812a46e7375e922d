/**
 * `switchboard/sip` user agent, outside dialogs: the endpoint that wires transports and
 * transactions (OPTIONS, MESSAGE, request checks), the registrar and its location service,
 * and the registration client.
 */
export { LocationService, addressOfRecord, type Binding, type BindingUpdate, type LocationFailure, type LocationServiceOptions, type RestoredBinding } from './location-service.js';
export { Registrar, type RegistrarOptions, type RegistrarOutcome, type RegisterHandler } from './registrar.js';
export { checkRequest, KNOWN_METHODS, type RequestPolicy } from './request-policy.js';
export { sendAuthenticated, sendOnce, type RequestOutcome, type AuthenticatedRequestOptions } from './authenticated-request.js';
export { SipEndpoint, directDestination, type SipEndpointOptions, type SendMessageOptions, type SendRequestOptions, type EndpointFallback } from './sip-endpoint.js';
export {
  RegistrationClient,
  refreshDelay,
  type RegistrationClientOptions,
  type RegistrationEvents,
  type RegistrationResult,
  type RegistrationState,
} from './registration-client.js';
