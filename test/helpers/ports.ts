/** Ephemeral ports for peers that must be told a port number (sipp, baresip). */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/**
 * A UDP port (and, with `pair`, the next one too) that was free a moment ago on 127.0.0.1:
 * bound to port 0 by the kernel, then released for the peer to take. The race with other
 * processes is small on a test machine; callers retry on a bind failure.
 */
export async function freeUdpPort(pair = false): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const s = createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve(s.address().port));
    });
    if (!pair || port >= 65535) {
      s.close();
      if (!pair) return port;
      continue;
    }
    const t = createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      t.once('error', () => resolve(false));
      t.bind(port + 1, '127.0.0.1', () => resolve(true));
    });
    s.close();
    if (ok) t.close();
    if (ok && port % 2 === 0) return port;
  }
  throw new Error('no free UDP port pair found');
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  const port = await new Promise<number>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      resolve(typeof a === 'object' && a !== null ? a.port : 0);
    });
  });
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
