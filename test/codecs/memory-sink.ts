import type { WavSink } from '../../src/codecs/index.js';

/** An in-memory {@link WavSink} that can be told to fail, to simulate a full disk. */
export class MemorySink implements WavSink {
  bytes = new Uint8Array(0);
  writes = 0;
  syncs = 0;
  closed = 0;
  /** Fail (ENOSPC) on the write with this 0-based index, and on every write after it. */
  failAtWrite = Number.POSITIVE_INFINITY;

  async write(data: Uint8Array, position: number): Promise<void> {
    await Promise.resolve();
    if (this.writes++ >= this.failAtWrite) {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    const end = position + data.length;
    if (end > this.bytes.length) {
      const grown = new Uint8Array(end);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes.set(data, position);
  }

  async sync(): Promise<void> {
    this.syncs++;
  }

  async close(): Promise<void> {
    this.closed++;
  }
}
