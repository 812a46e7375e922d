/**
 * `switchboard/sip` SIP-specific event notification (RFC 6665): the subscriber
 * ({@link SubscriptionClient}), the notifier ({@link Notifier}), and the router that lets them
 * run with or without a DialogManager.
 */
export {
  SubscriptionClient,
  ClientSubscription,
  SubscriptionError,
  type SubscriptionClientOptions,
  type SubscribeOptions,
  type NotifyEvent,
  type SubscriptionTerminated,
  type ClientTerminationReason,
  type ClientSubscriptionEvents,
} from './subscription-client.js';
export {
  Notifier,
  NotifierSubscription,
  type NotifierOptions,
  type NotifierEvents,
  type EventPackage,
  type SubscriptionAuthorization,
  type NotifierTerminationReason,
} from './notifier.js';
export { SubscriptionRouter } from './subscription-router.js';
export {
  formatSubscriptionState,
  SUBSCRIPTION_TERMINATION_REASONS,
  type SubscriptionStateValue,
  type SubscriptionRequestHandler,
} from './subscription-dialog.js';
