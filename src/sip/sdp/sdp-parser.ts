import { SdpParseError } from './errors.js';
import type {
  SdpAttribute,
  SdpBandwidth,
  SdpConnection,
  SdpMedia,
  SdpOrigin,
  SdpOtherLine,
  SdpTiming,
  SessionDescription,
} from './session-description.js';

/**
 * Largest body {@link parseSdp} reads, in bytes (UTF-8); larger ones are `too-large`.
 *
 * @example
 * ```ts
 * if (body.length > MAX_SDP_BYTES) return reply(413);
 * ```
 */
export const MAX_SDP_BYTES = 65536;
/**
 * Most `m=` sections {@link parseSdp} reads; more are `too-many-media`.
 *
 * @example
 * ```ts
 * parseSdp(body).media.length <= MAX_SDP_MEDIA; // always true
 * ```
 */
export const MAX_SDP_MEDIA = 64;

const SESSION_ONLY = 'vosuepzrt';

/**
 * Parse an SDP body (RFC 8866). Tolerant where real peers differ and nothing is lost: LF-only
 * or CRLF line ends, trailing spaces and tabs (trimmed), blank lines (skipped), a leading BOM,
 * a missing `s=` (then `sessionName` is `''`) or `t=` (then `timings` is empty), lines of
 * unknown types (kept in `otherLines`) and unknown attributes (kept in order). Strict where a
 * guess would be wrong: the first line must be `v=`, `o=` is required, known lines must have
 * their RFC 8866 §5 shape, single-valued lines may not repeat, session-only lines may not sit
 * in a media section. Bytes are read as UTF-8, or as ISO 8859-1 when they are not UTF-8.
 *
 * Bounds: at most {@link MAX_SDP_BYTES} bytes and {@link MAX_SDP_MEDIA} media sections.
 *
 * @throws SdpParseError and nothing else.
 *
 * @example
 * ```ts
 * const sd = parseSdp('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n');
 * sd.media[0]?.port; // 4000
 * ```
 */
export function parseSdp(text: string | Uint8Array): SessionDescription {
  const source = typeof text === 'string' ? checkedString(text) : decode(text);
  return new SdpReader().read(source);
}

function checkedString(text: string): string {
  if (text.length > MAX_SDP_BYTES || Buffer.byteLength(text, 'utf8') > MAX_SDP_BYTES) {
    throw new SdpParseError('too-large', `body exceeds ${MAX_SDP_BYTES} bytes`);
  }
  return text;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const latin1 = new TextDecoder('latin1');

function decode(bytes: Uint8Array): string {
  if (bytes.length > MAX_SDP_BYTES) throw new SdpParseError('too-large', `body exceeds ${MAX_SDP_BYTES} bytes`);
  try {
    return utf8.decode(bytes);
  } catch {
    return latin1.decode(bytes);
  }
}

/** One parse: the line loop and the section it is in. */
class SdpReader {
  private lineNo = 0;
  private sd: SessionDescription | undefined;
  private media: SdpMedia | undefined;
  private sawSessionName = false;

  read(source: string): SessionDescription {
    let start = source.charCodeAt(0) === 0xfeff ? 1 : 0;
    const end = source.length;
    while (start <= end) {
      let nl = source.indexOf('\n', start);
      if (nl < 0) nl = end;
      this.lineNo++;
      this.line(trimEnd(source.slice(start, nl)));
      start = nl + 1;
    }
    const sd = this.sd;
    if (sd === undefined) throw new SdpParseError('no-version', 'empty body: no v= line');
    if (sd.origin.address === '' && sd.origin.netType === '') throw new SdpParseError('missing-field', 'no o= line');
    return sd;
  }

  private fail(reason: SdpParseError['reason'], message: string): never {
    throw new SdpParseError(reason, message, this.lineNo);
  }

  private line(line: string): void {
    if (line === '') return;
    if (line.length < 2 || line.charCodeAt(1) !== 0x3d /* = */) this.fail('bad-line', `not a <type>=<value> line: ${quote(line)}`);
    const type = line[0] as string;
    const value = line.slice(2);
    const sd = this.sd;
    if (sd === undefined) {
      if (type !== 'v') this.fail('no-version', `the first line must be v=, got ${quote(line)}`);
      this.sd = newSession(this.uint(value, 'v= version', 0xffffffff));
      return;
    }
    if (!isLetter(type)) this.fail('bad-line', `line type ${quote(type)} is not a letter`);
    const media = this.media;
    if (media !== undefined && SESSION_ONLY.includes(type)) {
      this.fail('misplaced-field', `${type}= is a session-level line but appears in a media section`);
    }
    switch (type) {
      case 'v':
        this.fail('duplicate-field', 'second v= line');
      case 'o':
        if (sd.origin.netType !== '') this.fail('duplicate-field', 'second o= line');
        sd.origin = this.origin(value);
        return;
      case 's':
        if (this.sawSessionName) this.fail('duplicate-field', 'second s= line');
        this.sawSessionName = true;
        sd.sessionName = value;
        return;
      case 'i':
        if (media !== undefined) {
          if (media.information !== undefined) this.fail('duplicate-field', 'second i= line in a media section');
          media.information = value;
        } else {
          if (sd.information !== undefined) this.fail('duplicate-field', 'second i= line');
          sd.information = value;
        }
        return;
      case 'u':
        if (sd.uri !== undefined) this.fail('duplicate-field', 'second u= line');
        sd.uri = value;
        return;
      case 'e':
        sd.emails.push(value);
        return;
      case 'p':
        sd.phones.push(value);
        return;
      case 'c': {
        const c = this.connection(value);
        if (media !== undefined) media.connections.push(c);
        else {
          if (sd.connection !== undefined) this.fail('duplicate-field', 'second session-level c= line');
          sd.connection = c;
        }
        return;
      }
      case 'b':
        (media ?? sd).bandwidths.push(this.bandwidth(value));
        return;
      case 't':
        sd.timings.push(this.timing(value));
        return;
      case 'r': {
        const last = sd.timings[sd.timings.length - 1];
        if (last === undefined) this.fail('misplaced-field', 'r= before any t= line');
        last.repeats.push(value);
        return;
      }
      case 'z':
        if (sd.zone !== undefined) this.fail('duplicate-field', 'second z= line');
        sd.zone = value;
        return;
      case 'k': {
        const owner = media ?? sd;
        if (owner.key !== undefined) this.fail('duplicate-field', 'second k= line');
        owner.key = value;
        return;
      }
      case 'a':
        (media ?? sd).attributes.push(this.attribute(value));
        return;
      case 'm':
        if (sd.media.length >= MAX_SDP_MEDIA) this.fail('too-many-media', `more than ${MAX_SDP_MEDIA} media sections`);
        this.media = this.mediaLine(value);
        sd.media.push(this.media);
        return;
      default: {
        const other: SdpOtherLine = { type, value };
        const owner = media ?? sd;
        if (owner.otherLines === undefined) owner.otherLines = [other];
        else owner.otherLines.push(other);
      }
    }
  }

  private uint(text: string, what: string, max: number): number {
    if (!isDigits(text) || text.length > 16) this.fail('bad-field', `${what} is not a number: ${quote(text)}`);
    const n = Number(text);
    if (n > max) this.fail('bad-field', `${what} is out of range: ${text}`);
    return n;
  }

  private bigUint(text: string, what: string): bigint {
    if (!isDigits(text) || text.length > 40) this.fail('bad-field', `${what} is not a number: ${quote(text)}`);
    return BigInt(text);
  }

  private origin(value: string): SdpOrigin {
    const f = words(value);
    if (f.length !== 6) this.fail('bad-field', `o= needs 6 fields, got ${f.length}`);
    const [username, sessionId, version, netType, addrType, address] = f as [string, string, string, string, string, string];
    return { username, sessionId, sessionVersion: this.bigUint(version, 'o= session version'), netType, addrType, address };
  }

  private connection(value: string): SdpConnection {
    const f = words(value);
    if (f.length !== 3) this.fail('bad-field', `c= needs 3 fields, got ${f.length}`);
    const [netType, addrType, spec] = f as [string, string, string];
    const kind = addrType.toUpperCase();
    if (kind !== 'IP4' && kind !== 'IP6') return { netType, addrType, address: spec };
    const parts = spec.split('/');
    const address = parts[0] as string;
    if (address === '') this.fail('bad-field', 'c= address is empty');
    const c: SdpConnection = { netType, addrType, address };
    if (kind === 'IP4') {
      if (parts.length > 3) this.fail('bad-field', `c= address has too many "/" parts: ${quote(spec)}`);
      if (parts[1] !== undefined) c.ttl = this.uint(parts[1], 'c= TTL', 255);
      if (parts[2] !== undefined) c.count = this.positive(parts[2], 'c= address count');
    } else {
      if (parts.length > 2) this.fail('bad-field', `c= address has too many "/" parts: ${quote(spec)}`);
      if (parts[1] !== undefined) c.count = this.positive(parts[1], 'c= address count');
    }
    return c;
  }

  private positive(text: string, what: string): number {
    const n = this.uint(text, what, 0xffffffff);
    if (n === 0) this.fail('bad-field', `${what} is 0`);
    return n;
  }

  private bandwidth(value: string): SdpBandwidth {
    const colon = value.indexOf(':');
    if (colon <= 0) this.fail('bad-field', `b= is not <type>:<value>: ${quote(value)}`);
    return { type: value.slice(0, colon), value: this.uint(value.slice(colon + 1).trim(), 'b= bandwidth', Number.MAX_SAFE_INTEGER) };
  }

  private timing(value: string): SdpTiming {
    const f = words(value);
    if (f.length !== 2) this.fail('bad-field', `t= needs 2 fields, got ${f.length}`);
    return { start: this.bigUint(f[0] as string, 't= start time'), stop: this.bigUint(f[1] as string, 't= stop time'), repeats: [] };
  }

  private attribute(value: string): SdpAttribute {
    const colon = value.indexOf(':');
    const name = colon < 0 ? value : value.slice(0, colon);
    if (name === '') this.fail('bad-field', 'a= attribute name is empty');
    return colon < 0 ? { name } : { name, value: value.slice(colon + 1) };
  }

  private mediaLine(value: string): SdpMedia {
    const f = words(value);
    if (f.length < 3) this.fail('bad-field', `m= needs <media> <port> <proto> <fmt>..., got ${quote(value)}`);
    const [type, portSpec, protocol] = f as [string, string, string];
    const slash = portSpec.indexOf('/');
    const media: SdpMedia = {
      type,
      port: this.uint(slash < 0 ? portSpec : portSpec.slice(0, slash), 'm= port', 65535),
      protocol,
      formats: f.slice(3),
      connections: [],
      bandwidths: [],
      attributes: [],
    };
    if (slash >= 0) media.portCount = this.positive(portSpec.slice(slash + 1), 'm= port count');
    return media;
  }
}

function newSession(version: number): SessionDescription {
  return {
    version,
    // Filled by the o= line; an empty netType marks "not seen yet".
    origin: { username: '', sessionId: '', sessionVersion: 0n, netType: '', addrType: '', address: '' },
    sessionName: '',
    emails: [],
    phones: [],
    bandwidths: [],
    timings: [],
    attributes: [],
    media: [],
  };
}

function trimEnd(line: string): string {
  let end = line.length;
  while (end > 0) {
    const c = line.charCodeAt(end - 1);
    if (c !== 0x0d && c !== 0x20 && c !== 0x09) break;
    end--;
  }
  return end === line.length ? line : line.slice(0, end);
}

/** Fields separated by runs of spaces or tabs (RFC 8866 says one space; some peers pad). */
function words(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && isBlank(value.charCodeAt(i))) i++;
    if (i >= n) break;
    const from = i;
    while (i < n && !isBlank(value.charCodeAt(i))) i++;
    out.push(value.slice(from, i));
  }
  return out;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function isLetter(s: string): boolean {
  const c = s.charCodeAt(0);
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

/** True when `s` is one or more ASCII digits. */
export function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function quote(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}...` : s);
}
