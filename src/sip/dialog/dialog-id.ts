/**
 * Dialog identity (RFC 3261 §12): a dialog is named by its Call-ID, local tag and remote tag.
 * Which of From and To holds which tag depends on the side of the message:
 *
 * - a request we receive (we act as UAS for it): local tag = To tag, remote tag = From tag;
 * - a response we receive (to a request we sent as UAC): local tag = From tag, remote tag = To tag
 *   (§12.1.2).
 */
import { SipParseError, type SipMessage } from '../message/index.js';

/**
 * The three parts of a dialog id (§12).
 *
 * @example
 * ```ts
 * const id: DialogId = { callId: 'a84b4c76e66710', localTag: '1928301774', remoteTag: 'a6c85cf' };
 * dialogKey(id); // a Map key
 * ```
 */
export interface DialogId {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
}

const SEP = '\u0000'; // cannot occur in a Call-ID or a tag, so keys never collide

/**
 * The string a dialog table is keyed by. Call-IDs and tags compare case-sensitively (§19.3).
 *
 * @example
 * ```ts
 * dialogKey({ callId: 'c1', localTag: 'a', remoteTag: 'b' }) === dialogKey({ callId: 'c1', localTag: 'a', remoteTag: 'b' }); // true
 * ```
 */
export function dialogKey(id: DialogId): string {
  return id.callId + SEP + id.localTag + SEP + id.remoteTag;
}

/**
 * The id of the dialog a message we received belongs to, from our side: for a request
 * (To tag, From tag), for a response (From tag, To tag). `undefined` when a tag is missing or
 * a header cannot be read (such a message belongs to no dialog).
 *
 * @example
 * ```ts
 * // BYE received: From: <sip:alice@a>;tag=x  To: <sip:bob@b>;tag=y  Call-ID: c
 * dialogIdOfIncoming(bye); // { callId: 'c', localTag: 'y', remoteTag: 'x' }
 * ```
 */
export function dialogIdOfIncoming(message: SipMessage): DialogId | undefined {
  try {
    const fromTag = message.from.tag;
    const toTag = message.to.tag;
    if (fromTag === undefined || toTag === undefined) return undefined;
    const callId = message.callId;
    return message.isRequest ? { callId, localTag: toTag, remoteTag: fromTag } : { callId, localTag: fromTag, remoteTag: toTag };
  } catch (e) {
    if (e instanceof SipParseError) return undefined;
    throw e;
  }
}
