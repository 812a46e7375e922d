/**
 * A tshark capture on the loopback interface for a test that checks packets on the wire
 * (RTP through a bridge or the PBX): {@link startCapture} resolves once tshark captures.
 *
 * @example
 * ```ts
 * const cap = await startCapture(`udp portrange ${base}-${base + 7}`, pcap);
 * // … the call …
 * cap.kill('SIGINT');
 * ```
 */
import { startPeer, type Peer } from './peer-process.js';
import { until } from './wait.js';

/** Starts tshark on `lo` for the capture filter `filter`, writing `file`; resolves once the capture runs. */
export async function startCapture(filter: string, file: string): Promise<Peer> {
  const cap = startPeer('tshark', ['-i', 'lo', '-f', filter, '-w', file], { timeoutMs: 60_000 });
  await until(() => /Capturing on/.test(cap.output().stderr) || cap.child.exitCode !== null, 15_000, () => `tshark to capture: ${cap.output().stderr}`, 20);
  if (cap.child.exitCode !== null) throw new Error(`tshark exited (${cap.child.exitCode}): ${cap.output().stderr}`);
  // "Capturing on" comes a moment before the kernel filter is attached (see test/rtp/tshark.test.ts).
  await new Promise((r) => setTimeout(r, 1000));
  return cap;
}
