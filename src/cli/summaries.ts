// Each top-level command's one-line summary, for `hafnium --help` (main.ts) and the command's own help: a
// module with no imports, so the list of commands loads none of them.
export const summaries = {
  serve: 'start the server',
  user: 'administer accounts on the database file (add, list, show, delete…)',
  client: 'interactive test client',
  conformance: 'run the protocol conformance suite against a URL',
  backup: 'copy the live database and its outbox key to OUT, while the server keeps serving',
  restore: "replace a stopped server's database (and key) with BACKUP",
  ticket: 'sign a custom sign-in ticket (contract §13) to try profile:login {ticket} from a shell',
}
