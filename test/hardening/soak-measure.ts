// The soak's instruments: the open-file limits, SQLite file sizes and page size, and the RSS trend.
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs'

/** This process's open-file limits (a child inherits them). */
export function openFileLimits(): { soft: number; hard: number } {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
  const parse = (v: string | undefined) => (v === undefined || v === 'unlimited' ? Infinity : Number(v))
  return { soft: parse(match?.[1]), hard: parse(match?.[2]) }
}

/** A file's size, 0 while it does not exist (SQLite creates -wal and -shm lazily). */
export function sizeOf(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}

/** The page size from the database header (offset 16, big-endian; 1 means 65536), without opening a connection. */
export function pageSize(db: string): number {
  const fd = openSync(db, 'r')
  const header = Buffer.alloc(2)
  readSync(fd, header, 0, 2, 16)
  closeSync(fd)
  const size = header.readUInt16BE(0)
  return size === 1 ? 65536 : size || 4096
}

/** The bytes of a WAL holding `pages` frames: a 32-byte file header, then a 24-byte header per page. */
export const walBytes = (pages: number, pageBytes: number) => 32 + pages * (pageBytes + 24)

/** Least-squares slope of y over x (NaN with fewer than two points). */
export function leastSquaresSlope(points: [number, number][]): number {
  if (points.length < 2) return NaN
  const n = points.length
  const mx = points.reduce((a, [x]) => a + x, 0) / n
  const my = points.reduce((a, [, y]) => a + y, 0) / n
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0)
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0)
  return sxy / sxx
}
