// The payload types generated from schemas/ (`npm run gen:types`): one generated file, in the client
// package, which is published alone and must carry them; the server (which depends on @hafnium/client)
// takes them from there. Types only: the import is erased at build and at run time.
export type * from '@hafnium/client/schemas'
