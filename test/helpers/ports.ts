/** Ephemeral ports for peers that must be told a port number (sipp, baresip). */
import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer } from 'node:net';

/**
 * A UDP port (and, with `pair`, the next one too) that was free a moment ago on `address`
 * (127.0.0.1 unless another loopback address is asked for, e.g. 127.0.0.2 for a peer that must
 * not look like a local phone): bound to port 0 by the kernel, then released for the peer to
 * take. The race with other processes is small on a test machine; callers retry on a bind
 * failure.
 */
export async function freeUdpPort(pair = false, address = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const s = createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, address, () => resolve(s.address().port));
    });
    if (!pair || port >= 65535) {
      s.close();
      if (!pair) return port;
      continue;
    }
    const t = createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      t.once('error', () => resolve(false));
      t.bind(port + 1, address, () => resolve(true));
    });
    s.close();
    if (ok) t.close();
    if (ok && port % 2 === 0) return port;
  }
  throw new Error('no free UDP port pair found');
}

/** Resolves once something (a peer just started: sipp) holds UDP `port` on `address`; rejects after `timeoutMs`. */
export async function waitForUdpListener(port: number, address = '127.0.0.1', timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const taken = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(true));
      s.bind(port, address, () => s.close(() => resolve(false)));
    });
    if (taken) return;
    if (Date.now() > until) throw new Error(`nothing listens on UDP ${address}:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves once something (a peer just started: sipp) accepts TCP connections on 127.0.0.1:`port`; rejects after `timeoutMs`. */
export async function waitForTcpListener(port: number, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > until) throw new Error(`nothing listens on TCP 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
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

/**
 * A block of `count` consecutive UDP ports on 127.0.0.1 starting at an even port, all free a
 * moment ago (each bound, then released): an RTP port range to give a CallAgent
 * (`media: { portMin, portMax }`) so a capture filter can name it before any call exists.
 */
export async function freeUdpPortRange(count: number, address = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    let base = await freeUdpPort(false, address);
    base -= base & 1;
    if (base < 1024 || base + count - 1 > 65535) continue;
    const held: Socket[] = [];
    let ok = true;
    for (let p = base; p < base + count && ok; p++) {
      const s = createSocket('udp4');
      ok = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.bind(p, address, () => resolve(true));
      });
      if (ok) held.push(s);
      else s.close();
    }
    for (const s of held) s.close();
    if (ok) return base;
  }
  throw new Error(`no block of ${count} free UDP ports found`);
}
