// The provider_tokens row as both engines select it, and its mapping to the identity it stands for.
import type { ProviderIdentity } from '../providers.ts'

export interface ProviderTokenRow {
  provider_id: string
  sub: string
  email: string | null
  email_verified: number
  name: string | null
  picture: string | null
}

export const providerTokenColumns = 'provider_id, sub, email, email_verified, name, picture'

export const toIdentity = (row: ProviderTokenRow | undefined): ProviderIdentity | undefined =>
  row && { providerID: row.provider_id, sub: row.sub, email: row.email, emailVerified: row.email_verified === 1, name: row.name, picture: row.picture }
