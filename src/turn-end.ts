// Work held until the end of the event loop's turn, such as corked socket output: one write per socket for
// all the frames a turn produced. It runs in the check phase (setImmediate) and, earlier, when a group
// commit has answered its last chained batch (store/group-commit.ts calls endTurn): an Immediate queued
// during the check phase runs only in the next loop iteration, after its timers and a whole poll phase, so a
// commit's replies would otherwise wait that long.
interface TurnEnd {
  pending: (() => void)[]
  scheduled: boolean
}
// One per process even when this module is loaded twice (an extension importing 'hafnium' from source
// while the server runs from dist/): the group commit of the extension's store must flush the server's
// connections.
const state: TurnEnd = ((globalThis as { [key: symbol]: TurnEnd })[Symbol.for('hafnium.turn-end')] ??= { pending: [], scheduled: false })

export function atTurnEnd(work: () => void): void {
  state.pending.push(work)
  if (state.scheduled) return
  state.scheduled = true
  setImmediate(endTurn)
}

export function endTurn(): void {
  state.scheduled = false
  // Taken first: work queued while these run waits for the next round.
  for (const work of state.pending.splice(0)) work()
}
