// Which misses the read cache keeps: a row enters on its second read, not its first.

/**
 * A "doorkeeper" (TinyLFU's, Einziger et al. 2017): a Bloom filter of the keys read once lately. A miss
 * whose key is not in it is only noted; one whose key is, is cached. A row read once (a contact list's
 * stranger, a scan) costs a bit in a fixed array instead of a cache entry: every entry survives V8's young
 * generation and is copied by the scavenges, whose pauses are the open loop's tail (README > Performance:
 * ~870 bytes promoted per cold read, scavenges 3.1 → 1.8 ms in `mixed_half`). A row read again soon — its
 * owner's own reads, a contact's profile shown twice — is cached on that second read.
 *
 * Two filters take turns, so "lately" is the last one to two generations of `generation` first reads: when
 * the current one has noted that many, the older one is cleared and becomes the current. Two hashes over
 * `bits` bits each (128 KiB at 2^20): with 65,536 keys in the full one, under 2% of first reads are admitted
 * wrongly (harmless: a row cached a read early).
 */
export function createDoorkeeper(bits = 2 ** 20, generation = 2 ** 16) {
  const mask = bits - 1
  let current = new Int32Array(bits >>> 5)
  let previous = new Int32Array(bits >>> 5)
  let noted = 0
  const has = (filter: Int32Array, a: number, b: number) => (filter[a >>> 5]! & (1 << (a & 31))) !== 0 && (filter[b >>> 5]! & (1 << (b & 31))) !== 0
  return {
    /** True when `key` was read lately (admit it); otherwise notes it and returns false. */
    admit(key: string): boolean {
      // FNV-1a over the UTF-16 units, then murmur3's finaliser of it for the second index.
      let h = 0x811c9dc5
      for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
      let g = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
      g = Math.imul(g ^ (g >>> 13), 0xc2b2ae35)
      g ^= g >>> 16
      const a = h & mask
      const b = g & mask
      if (has(current, a, b) || has(previous, a, b)) return true
      if (++noted > generation) {
        ;[previous, current] = [current, previous.fill(0)]
        noted = 1
      }
      current[a >>> 5]! |= 1 << (a & 31)
      current[b >>> 5]! |= 1 << (b & 31)
      return false
    },
  }
}
