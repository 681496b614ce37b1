// Group commit (src/store/group-commit.ts): the writes of one event-loop turn share one transaction; each
// caller hears back only after that commit, and a failing operation fails alone.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import Database, { type SqliteDatabase } from '../../src/store/driver.ts'
import { createGroupCommit } from '../../src/store/group-commit.ts'
import { atTurnEnd } from '../../src/turn-end.ts'
import { within } from '../support/within.ts'

const test = suite<{ dir: string; path: string; db: SqliteDatabase }>('store: group commit')
test.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-group-commit-'))
  ctx.path = join(ctx.dir, 'gc.db')
  ctx.db = new Database(ctx.path)
  ctx.db.pragma('journal_mode = WAL')
  ctx.db.pragma('synchronous = NORMAL')
  ctx.db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE) STRICT')
})
test.after.each((ctx) => {
  if (ctx.db.open) ctx.db.close()
  rmSync(ctx.dir, { recursive: true, force: true })
})

/** Rows as another connection sees them: only what is committed. */
function committedBodies(path: string): string[] {
  const other = new Database(path, { readonly: true })
  try {
    return other.prepare<[], { body: string }>('SELECT body FROM notes ORDER BY id').all().map((r) => r.body)
  } finally {
    other.close()
  }
}

test('200 concurrent writers are all acknowledged, share a commit, and are there after the file is reopened', async ({ db, path }) => {
  const writes = createGroupCommit(db)
  const insert = db.prepare('INSERT INTO notes (body) VALUES (?)')
  const walBefore = statSync(`${path}-wal`).size
  const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => writes.run(() => Number(insert.run(`note ${i}`).lastInsertRowid))))
  assert.equal(new Set(ids).size, 200)
  // One commit per write appends at least one 4 KiB page to the WAL each (200 × 4,120 B); one batch, a handful.
  const walGrowth = statSync(`${path}-wal`).size - walBefore
  assert.ok(walGrowth < 20 * 4120, `the WAL grew ${walGrowth} B: more than a few commits for 200 writes`)
  db.close()
  assert.equal(committedBodies(path).length, 200)
  assert.equal(committedBodies(path).slice(0, 3), ['note 0', 'note 1', 'note 2'])
})

test('a failing operation fails alone: its own partial writes are undone, the rest of its batch commits', async ({ db, path }) => {
  const writes = createGroupCommit(db)
  const insert = db.prepare('INSERT INTO notes (body) VALUES (?)')
  const first = writes.run(() => insert.run('first').changes)
  // Two statements: the first succeeds, the second breaks the UNIQUE constraint, so both must go.
  const failing = writes.run(() => {
    insert.run('half of a failed operation')
    insert.run('first')
  })
  const last = writes.run(() => insert.run('last').changes)
  const [a, b, c] = await Promise.allSettled([first, failing, last])
  assert.equal(a, { status: 'fulfilled', value: 1 })
  assert.is(b!.status, 'rejected')
  assert.match(String((b as PromiseRejectedResult).reason), /UNIQUE/)
  assert.equal(c, { status: 'fulfilled', value: 1 })
  assert.equal(committedBodies(path), ['first', 'last'])
})

test('a write resolves only after its commit: another connection sees it from the moment its promise settles', async ({ db, path }) => {
  const writes = createGroupCommit(db)
  const insert = db.prepare('INSERT INTO notes (body) VALUES (?)')
  const seenAtResolution: string[][] = []
  const pending = Array.from({ length: 5 }, (_, i) =>
    writes.run(() => insert.run(`n${i}`)).then(() => void seenAtResolution.push(committedBodies(path))),
  )
  // Queued, not yet run: nothing is visible (nor acknowledged) before the batch commits.
  assert.equal(committedBodies(path), [])
  await Promise.all(pending)
  for (const seen of seenAtResolution) assert.equal(seen, ['n0', 'n1', 'n2', 'n3', 'n4'])
})

test('a batch that cannot begin (the write lock held elsewhere) rejects every operation in it', async ({ db, path }) => {
  const writes = createGroupCommit(db)
  const insert = db.prepare('INSERT INTO notes (body) VALUES (?)')
  const holder = new Database(path, { timeout: 0 })
  db.pragma('busy_timeout = 0')
  holder.exec('BEGIN IMMEDIATE')
  try {
    const outcomes = await Promise.allSettled([writes.run(() => insert.run('a')), writes.run(() => insert.run('b'))])
    assert.equal(outcomes.map((o) => o.status), ['rejected', 'rejected'])
    assert.match(String((outcomes[0] as PromiseRejectedResult).reason), /locked|busy/i)
  } finally {
    holder.exec('ROLLBACK')
    holder.close()
  }
  // And the next batch works.
  assert.is((await writes.run(() => insert.run('c'))).changes, 1)
  assert.equal(committedBodies(path), ['c'])
})


test('an operation that breaks the batch\'s own savepoint fails the batch; nothing escapes as an uncaught exception', async ({ db, path }) => {
  const writes = createGroupCommit(db)
  const insert = db.prepare('INSERT INTO notes (body) VALUES (?)')
  const uncaught: unknown[] = []
  const onUncaught = (error: unknown) => uncaught.push(error)
  process.on('uncaughtException', onUncaught)
  try {
    const settled = await within(Promise.allSettled([
      writes.run(() => insert.run('before')),
      // Releases the savepoint the batch wraps it in, so the batch's own RELEASE and ROLLBACK TO then fail.
      writes.run(() => {
        db.exec('RELEASE op')
        throw new Error('broke the savepoint')
      }),
      writes.run(() => insert.run('after')),
    ]), 5_000, 'every write of the broken batch settling')
    assert.ok(settled.every((s) => s.status === 'rejected'), `every write of the broken batch fails: ${settled.map((s) => s.status)}`)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(uncaught, [])
    assert.is(db.inTransaction, false, 'the batch was rolled back')
    assert.equal(committedBodies(path), [])
    assert.ok(await writes.run(() => insert.run('later')), 'the next batch works')
  } finally {
    process.off('uncaughtException', onUncaught)
  }
})

test('a lone operation (a batch of one, run without a savepoint) that fails leaves none of its writes behind', async ({ db, path }) => {
  const writes = createGroupCommit(db)
  const insert = db.prepare('INSERT INTO notes (body) VALUES (?)')
  await writes.run(() => insert.run('kept'))
  const failing = writes.run(() => {
    insert.run('half of a failed operation')
    insert.run('kept')
  })
  const [outcome] = await Promise.allSettled([failing])
  assert.is(outcome!.status, 'rejected', 'the lone failing operation is not acknowledged')
  assert.match(String((outcome as PromiseRejectedResult).reason), /UNIQUE/)
  assert.is(db.inTransaction, false, 'its transaction was rolled back')
  assert.equal(committedBodies(path), ['kept'])
  assert.is((await writes.run(() => insert.run('next'))).changes, 1, 'the next write works')
  assert.equal(committedBodies(path), ['kept', 'next'])
})

/** Event-loop turns (check phases) that pass while `work` runs. */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0
  let counting = true
  const count = () => {
    turns++
    if (counting) setImmediate(count)
  }
  setImmediate(count)
  try {
    return { value: await work(), turns }
  } finally {
    counting = false
  }
}

test('a write queued in reaction to a commit (a connection\'s next request) is committed in the same turn, in a batch of its own', async ({ db, path }) => {
  const writes = createGroupCommit(db)
  const insert = db.prepare('INSERT INTO notes (body) VALUES (?)')
  // 4 writers (connections with in-order queues), 5 writes each, every write waiting for the previous one's commit.
  const writer = async (w: number) => {
    for (let i = 0; i < 5; i++) {
      await writes.run(() => insert.run(`w${w} n${i}`))
      // Acknowledged means committed: another connection sees it now.
      assert.ok(committedBodies(path).includes(`w${w} n${i}`), `w${w} n${i} is committed when acknowledged`)
    }
  }
  const walBefore = statSync(`${path}-wal`).size
  const { turns } = await within(turnsDuring(() => Promise.all([0, 1, 2, 3].map(writer))), 5_000, '4 writers finishing 5 writes each')
  // One turn per round would be 5; chained after each commit, the 5 rounds take the first turn's.
  assert.ok(turns <= 2, `20 writes in rounds of 4 took ${turns} event-loop turns`)
  // Each round of 4 shares a commit: 5 commits of a few pages, not 20.
  const walGrowth = statSync(`${path}-wal`).size - walBefore
  assert.ok(walGrowth < 12 * 4120, `the WAL grew ${walGrowth} B: more than 5 commits for 5 rounds of 4 writes`)
  assert.equal(committedBodies(path).length, 20)
})

test('chained commits are bounded per turn: a handler writing in a loop still lets the event loop run', async ({ db }) => {
  const writes = createGroupCommit(db, { maxChained: 4 })
  const insert = db.prepare('INSERT INTO notes (body) VALUES (?)')
  const { turns } = await within(
    turnsDuring(async () => {
      for (let i = 0; i < 20; i++) await writes.run(() => insert.run(`n${i}`))
    }),
    5_000,
    '20 writes in a loop',
  )
  // 1 commit from the turn's flush + 4 chained = 5 per turn: 20 writes need 4 turns, not 1.
  assert.ok(turns >= 3, `20 looped writes took ${turns} turns: the chain was not bounded`)
})

test("the turn's held output (corked replies) leaves when a group commit's chain ends, not in the next loop iteration", async ({ db }) => {
  const writes = createGroupCommit(db)
  const insert = db.prepare('INSERT INTO notes (body) VALUES (?)')
  // A reply to the write is held until the turn ends (a corked socket). A timer queued at the same moment
  // runs in the next iteration's timers phase, before that iteration's check phase: if the output were left
  // to an Immediate queued now (in the check phase), the timer would see it still held.
  const seen = await within(
    new Promise<string>((resolve) => {
      void writes.run(() => insert.run('reply me')).then(() => {
        let sent = false
        atTurnEnd(() => (sent = true))
        setTimeout(() => resolve(sent ? 'sent' : 'still held'), 0)
        // Past the timer's 1 ms, so the next iteration's timers phase runs it.
        const until = performance.now() + 3
        while (performance.now() < until);
      })
    }),
    5_000,
    'the write and its reply',
  )
  assert.is(seen, 'sent', "a commit's reply waited for the next loop iteration's check phase")
})

test.run()
