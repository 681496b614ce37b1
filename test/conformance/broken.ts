// A deliberately broken Cadmium-style server for the conformance tests: it accepts any password and answers
// every request it does not know with the same wrong errID (so malformed frames, unknown types… all fail).
import { randomBytes } from 'node:crypto'
import { replyTo, startStub, type Stub } from '../client/stub.ts'

const info = {
  domains: ['localhost'],
  version: '0.0.0-broken',
  types: ['server:ping', 'server:info', 'profile:register', 'profile:login', 'profile:auth', 'profile:logout'],
  limits: { maxMessageBytes: 65536, maxQueuedPerConnection: 64 },
  registration: 'open',
}

export function startBrokenServer(): Promise<Stub> {
  return startStub((text, socket) => {
    let request: { type?: string; payload?: { username?: string } }
    try {
      request = JSON.parse(text)
    } catch {
      return socket.send(replyTo(text, false, { errID: 'bad_request', errText: 'Bad request' }))
    }
    const session = () => {
      const userID = `@${String(request.payload?.username).toLowerCase()}@localhost`
      const deviceID = randomBytes(5).toString('hex').toUpperCase()
      return { authToken: randomBytes(32).toString('hex'), deviceID, userID }
    }
    switch (request.type) {
      case 'server:ping':
        return socket.send(replyTo(text, true, {}))
      case 'server:info':
        return socket.send(replyTo(text, true, info))
      case 'profile:register': {
        const loginPayload = session()
        const payload = { userID: loginPayload.userID, confirmationRequired: false, loginPayload }
        return socket.send(replyTo(text, true, payload, 'localhost', loginPayload.userID))
      }
      case 'profile:login': {
        // The bug the suite must catch: any password is accepted.
        const login = session()
        return socket.send(replyTo(text, true, login, 'localhost', login.userID))
      }
      default:
        return socket.send(replyTo(text, false, { errID: 'bad_request', errText: 'Bad request' }))
    }
  })
}
