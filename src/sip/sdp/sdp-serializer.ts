import { SdpSerializeError } from './errors.js';
import type { SdpConnection, SdpMedia, SdpOtherLine, SessionDescription, SdpAttribute, SdpBandwidth } from './session-description.js';

/**
 * Write a session description as SDP text (RFC 8866 §5): CRLF line ends, the lines in the
 * order §5 prescribes (v o s i u e p c b t r z k a, then per media m i c b k a), lines of
 * unknown types last in their section. An empty `sessionName` is written `s= ` (§5.3).
 *
 * Strict: everything written must read back as the same value, so the serializer throws
 * {@link SdpSerializeError} for CR, LF or NUL in any value, trailing spaces or tabs in a value
 * (a parser trims them), an empty or blank-containing token (o=, c=, m= fields, attribute
 * names), a `:` in an attribute name or bandwidth type, numbers out of range (port 0–65535,
 * TTL 0–255, negative bigints), a `ttl` on a non-IP4 or a `count` without `ttl` on IP4, and a
 * media section without formats.
 *
 * @example
 * ```ts
 * const text = serializeSdp(parseSdp(body)); // CRLF, canonical order
 * ```
 */
export function serializeSdp(sd: SessionDescription): string {
  const out: string[] = [];
  out.push(`v=${uint(sd.version, 'version', 0xffffffff)}`);
  const o = sd.origin;
  out.push(
    `o=${token(o.username, 'origin.username')} ${token(o.sessionId, 'origin.sessionId')} ${bigUint(o.sessionVersion, 'origin.sessionVersion')} ` +
      `${token(o.netType, 'origin.netType')} ${token(o.addrType, 'origin.addrType')} ${token(o.address, 'origin.address')}`,
  );
  out.push(sd.sessionName === '' ? 's= ' : `s=${text(sd.sessionName, 'sessionName')}`);
  if (sd.information !== undefined) out.push(`i=${text(sd.information, 'information')}`);
  if (sd.uri !== undefined) out.push(`u=${text(sd.uri, 'uri')}`);
  sd.emails.forEach((e, i) => out.push(`e=${text(e, `emails[${i}]`)}`));
  sd.phones.forEach((p, i) => out.push(`p=${text(p, `phones[${i}]`)}`));
  if (sd.connection !== undefined) out.push(connection(sd.connection, 'connection'));
  bandwidths(out, sd.bandwidths, 'bandwidths');
  sd.timings.forEach((t, i) => {
    out.push(`t=${bigUint(t.start, `timings[${i}].start`)} ${bigUint(t.stop, `timings[${i}].stop`)}`);
    t.repeats.forEach((r, j) => out.push(`r=${text(r, `timings[${i}].repeats[${j}]`)}`));
  });
  if (sd.zone !== undefined) out.push(`z=${text(sd.zone, 'zone')}`);
  if (sd.key !== undefined) out.push(`k=${text(sd.key, 'key')}`);
  attributes(out, sd.attributes, 'attributes');
  otherLines(out, sd.otherLines, 'otherLines');
  sd.media.forEach((m, i) => media(out, m, `media[${i}]`));
  out.push('');
  return out.join('\r\n');
}

function media(out: string[], m: SdpMedia, field: string): void {
  if (m.formats.length === 0) throw new SdpSerializeError(`${field}.formats`, 'a media section needs at least one format');
  const port = uint(m.port, `${field}.port`, 65535) + (m.portCount === undefined ? '' : `/${positive(m.portCount, `${field}.portCount`)}`);
  const formats = m.formats.map((f, i) => token(f, `${field}.formats[${i}]`)).join(' ');
  out.push(`m=${token(m.type, `${field}.type`)} ${port} ${token(m.protocol, `${field}.protocol`)} ${formats}`);
  if (m.information !== undefined) out.push(`i=${text(m.information, `${field}.information`)}`);
  m.connections.forEach((c, i) => out.push(connection(c, `${field}.connections[${i}]`)));
  bandwidths(out, m.bandwidths, `${field}.bandwidths`);
  if (m.key !== undefined) out.push(`k=${text(m.key, `${field}.key`)}`);
  attributes(out, m.attributes, `${field}.attributes`);
  otherLines(out, m.otherLines, `${field}.otherLines`);
}

function connection(c: SdpConnection, field: string): string {
  const kind = c.addrType.toUpperCase();
  let spec = token(c.address, `${field}.address`);
  if (kind === 'IP4' || kind === 'IP6') {
    if (spec.includes('/')) throw new SdpSerializeError(`${field}.address`, 'put TTL and count in ttl/count, not in the address');
    if (kind === 'IP6' && c.ttl !== undefined) throw new SdpSerializeError(`${field}.ttl`, 'IP6 connections have no TTL');
    if (kind === 'IP4' && c.count !== undefined && c.ttl === undefined) throw new SdpSerializeError(`${field}.count`, 'an IP4 address count needs a TTL');
    if (c.ttl !== undefined) spec += `/${uint(c.ttl, `${field}.ttl`, 255)}`;
    if (c.count !== undefined) spec += `/${positive(c.count, `${field}.count`)}`;
  } else if (c.ttl !== undefined || c.count !== undefined) {
    throw new SdpSerializeError(field, `ttl/count only for IP4/IP6, not ${c.addrType}`);
  }
  return `c=${token(c.netType, `${field}.netType`)} ${token(c.addrType, `${field}.addrType`)} ${spec}`;
}

function bandwidths(out: string[], list: SdpBandwidth[], field: string): void {
  list.forEach((b, i) => {
    const type = token(b.type, `${field}[${i}].type`);
    if (type.includes(':')) throw new SdpSerializeError(`${field}[${i}].type`, 'a bandwidth type cannot contain ":"');
    out.push(`b=${type}:${uint(b.value, `${field}[${i}].value`, Number.MAX_SAFE_INTEGER)}`);
  });
}

function attributes(out: string[], list: SdpAttribute[], field: string): void {
  list.forEach((a, i) => {
    const name = token(a.name, `${field}[${i}].name`);
    if (name.includes(':')) throw new SdpSerializeError(`${field}[${i}].name`, 'an attribute name cannot contain ":"');
    out.push(a.value === undefined ? `a=${name}` : `a=${name}:${text(a.value, `${field}[${i}].value`)}`);
  });
}

function otherLines(out: string[], list: SdpOtherLine[] | undefined, field: string): void {
  list?.forEach((l, i) => {
    const c = l.type.charCodeAt(0);
    const letter = l.type.length === 1 && ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a));
    if (!letter || 'vosiuepcbtrzkam'.includes(l.type)) {
      throw new SdpSerializeError(`${field}[${i}].type`, `not an unknown line type letter: ${JSON.stringify(l.type)}`);
    }
    out.push(`${l.type}=${text(l.value, `${field}[${i}].value`)}`);
  });
}

/** A free-text value: no CR, LF or NUL, no trailing blank (parsers trim it). */
function text(value: string, field: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0) throw new SdpSerializeError(field, 'a value cannot contain CR, LF or NUL');
  }
  const last = value.charCodeAt(value.length - 1);
  if (last === 0x20 || last === 0x09) throw new SdpSerializeError(field, 'a value cannot end in a space or tab');
  return value;
}

/** A field of a space-separated line: non-empty, no blanks or control characters. */
function token(value: string, field: string): string {
  if (value.length === 0) throw new SdpSerializeError(field, 'is empty');
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) throw new SdpSerializeError(field, `cannot contain spaces or control characters: ${JSON.stringify(value)}`);
  }
  return value;
}

function uint(n: number, field: string, max: number): string {
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw new SdpSerializeError(field, `must be an integer 0–${max}, got ${n}`);
  return String(n);
}

function positive(n: number, field: string): string {
  if (!Number.isSafeInteger(n) || n < 1 || n > 0xffffffff) throw new SdpSerializeError(field, `must be a positive integer, got ${n}`);
  return String(n);
}

function bigUint(n: bigint, field: string): string {
  if (typeof n !== 'bigint' || n < 0n) throw new SdpSerializeError(field, `must be a non-negative bigint, got ${String(n)}`);
  const text = n.toString();
  // parseSdp reads at most 40 digits; write nothing it would refuse.
  if (text.length > 40) throw new SdpSerializeError(field, 'has more than 40 digits');
  return text;
}
