// JSON.parse of a request frame, with its `id` kept out of V8's string table.
//
// V8's JSON.parse internalizes every string value of up to 10 characters (9 on Node 24): the string goes
// into the isolate's string table, allocated in old space, and leaves only when a mark-compact finds it
// dead. Request IDs are short and all different (a counter: "1", "2", …; "abcd" in contract §2), so every
// request left a string in old space and an entry in the table behind: in the bench's closed loops old
// space grew ~0.7 MB/s from IDs alone, which brought each mark-compact sooner, and each mark-compact spent
// ~9 ms of its ~22 ms pause clearing the table (`--trace-gc-nvp`: clear.join_job).
//
// Frames written the usual way start {"id":"<id>". There the id is cut out of the text (an ordinary young
// string, gone at the next scavenge) and the frame parsed with null in its place: a string token swapped
// for a literal that the same characters may follow (not a number: "0.5" or "0e5" would run on), so the
// frame is valid JSON exactly when it was before. Anything else parses as it is: another key first,
// whitespace, an escape or a control character in the id, a longer id (V8 does not internalize it), and a
// later "id" key, which JSON.parse lets win.

const lead = '{"id":"'
/** The longest string value V8's JSON.parse internalizes (10 on Node 20, 9 on Node 24). */
const maxInternalized = 10
/** What JSON.parse refuses or decodes inside a string: left to it. */
const notPlain = /[\u0000-\u001f\\]/

export function parseEnvelope(raw: string): unknown {
  if (!raw.startsWith(lead)) return JSON.parse(raw)
  const end = raw.indexOf('"', lead.length)
  if (end < 0 || end - lead.length > maxInternalized) return JSON.parse(raw)
  const id = raw.slice(lead.length, end)
  // A later "id" key (spelled so, or with a \u escape) would win over this one: JSON.parse decides then.
  if (notPlain.test(id) || raw.includes('"id"', end) || raw.includes('\\u', end)) return JSON.parse(raw)
  const message = JSON.parse(`{"id":null${raw.slice(end + 1)}`) as { id: unknown }
  message.id = id
  return message
}
