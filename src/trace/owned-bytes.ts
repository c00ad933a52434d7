// Bytes a job keeps for long (a partial line, a stream's header, a masked phrase) must not be views
// into Node's shared 8 KiB Buffer pool (`Buffer.from`, `allocUnsafe`): one small view pins the
// whole slab. Measured at 1,000 running jobs: ~900 pinned slabs, 7 MiB.

/** A copy of `data` in memory of its own. */
export function ownedBytes(data: Uint8Array | string, encoding: BufferEncoding = 'utf8'): Buffer {
  if (typeof data === 'string') {
    const out = Buffer.allocUnsafeSlow(Buffer.byteLength(data, encoding));
    out.write(data, 0, encoding);
    return out;
  }
  const out = Buffer.allocUnsafeSlow(data.length);
  out.set(data);
  return out;
}
