/**
 * SIP message layer: parse + field access, serialize, against a same-run baseline that
 * only splits the same bytes into lines with `indexOf`.
 */
import { parseMessage, serializeMessage, type SipMessage } from '../src/sip/index.js';
import { consume, measure, printTable } from './harness.js';
import { corpusBuffers } from './sip-corpus.js';

const bufs = corpusBuffers;
const n = bufs.length;
const totalBytes = bufs.reduce((a, b) => a + b.length, 0);

// Baseline: split the same bytes into line strings with indexOf — the least any parser
// must do (decode the bytes, find each line, cut it out), with no parsing of the lines.
function baseline(): void {
  let x = 0;
  for (let k = 0; k < n; k++) {
    const s = bufs[k]!.toString('latin1');
    const lines: string[] = [];
    let pos = 0;
    for (;;) {
      const nl = s.indexOf('\r\n', pos);
      if (nl < 0) break;
      lines.push(s.slice(pos, nl));
      pos = nl + 2;
    }
    x += lines.length;
  }
  consume(x);
}

function access(m: SipMessage): number {
  const v = m.topVia!;
  let x = v.host.length + (v.branch?.length ?? 0);
  x += m.from.tag?.length ?? 0;
  x += m.to.tag?.length ?? 1;
  x += m.cseq.seq;
  x += m.callId.length;
  const c = m.contacts[0];
  if (c !== undefined && c.uri.kind === 'sip') x += c.uri.host.length;
  return x;
}

function parseAndAccess(): void {
  let x = 0;
  for (let k = 0; k < n; k++) x += access(parseMessage(bufs[k]!));
  consume(x);
}

function parseNoValidate(): void {
  let x = 0;
  for (let k = 0; k < n; k++) x += parseMessage(bufs[k]!, { validate: false }).headerCount;
  consume(x);
}

function parseAccessLazy(): void {
  let x = 0;
  for (let k = 0; k < n; k++) x += access(parseMessage(bufs[k]!, { validate: false }));
  consume(x);
}

const parsed = bufs.map((b) => parseMessage(b));
function serialize(): void {
  let x = 0;
  for (let k = 0; k < n; k++) x += serializeMessage(parsed[k]!).length;
  consume(x);
}

const base = measure(baseline, n);
printTable(
  `SIP messages (${n}-message mixed corpus, ${(totalBytes / n).toFixed(0)} bytes average)`,
  'messages/s',
  { name: 'baseline: split lines with indexOf', rate: base },
  [
    { name: 'parse + validate + access fields', rate: measure(parseAndAccess, n), note: 'target ≥ 500k/s and ≥ 0.5x baseline' },
    { name: 'parse (framing only) + access fields', rate: measure(parseAccessLazy, n) },
    { name: 'parse (framing only)', rate: measure(parseNoValidate, n) },
    { name: 'serialize', rate: measure(serialize, n) },
  ],
);
