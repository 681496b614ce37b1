// The registry: every message type this server handles, one line each (no directory scanning).
import type { AnyHandler } from '../handler.ts'
import deviceList from './device/list.ts'
import deviceRename from './device/rename.ts'
import deviceRevoke from './device/revoke.ts'
import deviceSetPushToken from './device/set_push_token.ts'
import deviceAuthorizeRequest from './device/authorize_request.ts'
import deviceAuthorizeApprove from './device/authorize_approve.ts'
import deviceAuthorizeDeny from './device/authorize_deny.ts'
import deviceAuthorizePoll from './device/authorize_poll.ts'
import profileDeactivate from './profile/deactivate.ts'
import profileLogout from './profile/logout.ts'
import profileSetPassword from './profile/set_password.ts'
import profileSudo from './profile/sudo.ts'
import profileAuth from './profile/auth.ts'
import profileCheckAccount from './profile/check_account.ts'
import profileCheckUsername from './profile/check_username.ts'
import profileContactHint from './profile/contact_hint.ts'
import profileGet from './profile/get.ts'
import profileQuery from './profile/query.ts'
import profileUpdate from './profile/update.ts'
import profileLogin from './profile/login.ts'
import profileRegister from './profile/register.ts'
import profileGuest from './profile/guest.ts'
import profileUpgrade from './profile/upgrade.ts'
import profileResetPassword from './profile/reset_password.ts'
import profileBindThirdpid from './profile/bind_thirdpid.ts'
import profileUnbindThirdpid from './profile/unbind_thirdpid.ts'
import profileBindProvider from './profile/bind_provider.ts'
import profileUnbindProvider from './profile/unbind_provider.ts'
import providerAuthUrl from './provider/auth_url.ts'
import providerGrant from './provider/grant.ts'
import verificationRequest from './verification/request.ts'
import verificationVerify from './verification/verify.ts'
import serverInfo from './server/info.ts'
import serverPing from './server/ping.ts'

export const handlers: readonly AnyHandler[] = [
  serverPing,
  serverInfo,
  profileRegister,
  profileLogin,
  profileAuth,
  profileCheckUsername,
  profileCheckAccount,
  profileContactHint,
  profileGet,
  profileUpdate,
  profileQuery,
  profileLogout,
  profileSudo,
  profileSetPassword,
  profileDeactivate,
  deviceList,
  deviceRename,
  deviceRevoke,
  deviceSetPushToken,
  deviceAuthorizeRequest,
  deviceAuthorizeApprove,
  deviceAuthorizeDeny,
  deviceAuthorizePoll,
  verificationRequest,
  verificationVerify,
  profileResetPassword,
  profileBindThirdpid,
  profileUnbindThirdpid,
  providerAuthUrl,
  providerGrant,
  profileBindProvider,
  profileUnbindProvider,
  profileGuest,
  profileUpgrade,
]
