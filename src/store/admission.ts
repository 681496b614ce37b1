// Which misses the read cache keeps: a row enters on its second read, not its first.

/**
 * A "doorkeeper" (TinyLFU's, Einziger et al. 2017): a Bloom filter of the keys missed lately. A miss whose
 * key is not in it is only noted; one whose key is, is cached. A row read once (a contact list's stranger,
 * a scan) costs two bits in a fixed array instead of a cache entry: every entry survives V8's young
 * generation and is copied by the scavenges, whose pauses make the open loop's tail (README > Performance).
 * A row read again soon — its owner's own reads, a contact's profile shown twice — is cached on that read.
 *
 * "Lately" is the last one to two generations of `generation` misses: two filters take turns, the older
 * cleared when the current one has seen that many. Every miss counts, admitted or not — counting only the
 * ones turned away, a cache whose misses were mostly admitted stopped turning and came to admit every miss.
 * Two hashes over `bits` bits a filter (128 KiB at 2^20, which must be a power of two): with up to 65,536
 * keys in each, ~1.9% of first reads are admitted wrongly on average, up to ~2.7% just before a turn
 * (harmless: a row cached a read early).
 */
export function createDoorkeeper(bits = 2 ** 20, generation = 2 ** 16) {
  if (bits < 32 || (bits & (bits - 1)) !== 0) throw new Error(`doorkeeper: bits must be a power of two ≥ 32, not ${bits}`)
  const mask = bits - 1
  let current = new Int32Array(bits >>> 5)
  let previous = new Int32Array(bits >>> 5)
  let seen = 0
  const has = (filter: Int32Array, a: number, b: number) => (filter[a >>> 5]! & (1 << (a & 31))) !== 0 && (filter[b >>> 5]! & (1 << (b & 31))) !== 0
  return {
    /** True when `key` was missed lately (admit it); notes it either way. */
    admit(key: string): boolean {
      // FNV-1a over the UTF-16 units, then murmur3's finaliser of it for the second index.
      let h = 0x811c9dc5
      for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
      let g = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
      g = Math.imul(g ^ (g >>> 13), 0xc2b2ae35)
      g ^= g >>> 16
      const a = h & mask
      const b = g & mask
      const admitted = has(current, a, b) || has(previous, a, b)
      if (++seen > generation) {
        ;[previous, current] = [current, previous.fill(0)]
        seen = 1
      }
      current[a >>> 5]! |= 1 << (a & 31)
      current[b >>> 5]! |= 1 << (b & 31)
      return admitted
    },
  }
}
