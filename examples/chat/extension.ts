/**
 * Private chat as a Hafnium extension (protocol.md > Application message types):
 * - chat:send {to, text} stores the message and sends chat:message to every device of both users
 * - chat:history {with, before?, limit?} pages through a conversation, newest first, with both read markers
 * - chat:read {with, upTo} moves this user's read marker and sends chat:read to every device of both users
 * Errors: unknown_user (no active account has that ID). Rate limits: see server.config.json.
 * Messages live in the example's own SQLite file: $HAFNIUM_CHAT_DB, else data/chat.db (from the working
 * directory, like database.path). $HAFNIUM_CHAT_MERGE_MS: how often the store merges its log (default 1000).
 */
import { defineExtension, defineType } from 'hafnium'
import { openChatStore, type ChatStore } from './store.ts'

const userID = { type: 'string', minLength: 3, maxLength: 320, pattern: '^@[^@\\s]+@[^@\\s]+$' } as const
const messageID = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const

let store: ChatStore | undefined
const chats = () => {
  if (!store) throw new Error('chat store is not open (start was not called)')
  return store
}

export default defineExtension({
  start({ log }) {
    const path = process.env.HAFNIUM_CHAT_DB || 'data/chat.db'
    const mergeAfterMs = Number(process.env.HAFNIUM_CHAT_MERGE_MS) || undefined
    store = openChatStore(path, {
      mergeAfterMs,
      onMergeError: (err) => log.error({ err, path }, 'chat store: indexing new messages failed; the timer retries (sends still commit, unindexed)'),
    })
    log.info({ path }, 'chat store open')
  },
  close() {
    store?.close()
    store = undefined
  },
  types: {
    'chat:send': defineType({
      auth: 'required',
      schema: {
        type: 'object',
        properties: { to: userID, text: { type: 'string', minLength: 1, maxLength: 4000 } },
        required: ['to', 'text'],
        additionalProperties: false,
      },
      async handle({ payload, user, notify, users }) {
        if (payload.to !== user.userID && !(await users.exists(payload.to))) throw { errID: 'unknown_user', errText: 'No such user', errPayload: { userID: payload.to } }
        const message = await chats().add(user.userID, payload.to, payload.text, Date.now())
        // Every device of both users, the sender's other devices included, so they stay in sync (one
        // notify for both: the event is serialised once; a note to oneself reaches each device once).
        await notify([payload.to, user.userID], 'chat:message', message)
        return { messageID: message.messageID, at: message.at }
      },
    }),
    'chat:history': defineType({
      auth: 'required',
      schema: {
        type: 'object',
        properties: { with: userID, before: messageID, limit: { type: 'integer', minimum: 1, maximum: 100 } },
        required: ['with'],
        additionalProperties: false,
      },
      async handle({ payload, user }) {
        const page = chats().history(user.userID, payload.with, payload.before, payload.limit ?? 50)
        return { ...page, read: chats().readMarkers(user.userID, payload.with) }
      },
    }),
    'chat:read': defineType({
      auth: 'required',
      schema: {
        type: 'object',
        properties: { with: userID, upTo: messageID },
        required: ['with', 'upTo'],
        additionalProperties: false,
      },
      async handle({ payload, user, notify }) {
        const upTo = await chats().markRead(user.userID, payload.with, payload.upTo)
        await notify([payload.with, user.userID], 'chat:read', { reader: user.userID, with: payload.with, upTo })
        return { upTo }
      },
    }),
  },
})
