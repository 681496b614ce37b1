// The browser example (examples/browser) in headless Chromium against a real server: sign up, log in, the device
// list kept live by device:new_login, revocation from a second browser, sign-in by device code, reloads and a
// server restart (with token rotation on, so a page that keeps a stale token fails).
// Chromium is Debian's package (.ci/run installs it); without it this suite fails, it does not skip.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startExampleServer, type ExampleServer } from '../../examples/browser/serve.ts'
import type { DeepPartial } from '../../src/config.ts'
import type { Config } from '../../src/types/schemas.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { within } from '../support/within.ts'

const executablePath = process.env.HAFNIUM_CHROMIUM ?? '/usr/bin/chromium'
const password = 'balcony-scene-2'
/** One wait on the page: generous, since two cores are shared by a browser, a server and other suites. */
const waitMs = 15_000

interface Ctx {
  example: ExampleServer
  server: TestServer
  /** The server's config and database folder, kept for a restart on the same port. */
  serverConfig: DeepPartial<Config>
  dir: string
  browser: Browser
  /** Uncaught exceptions and console errors of every page, named by page: each test ends asserting there were none. */
  pageErrors: string[]
  phone: Page
}
const test = suite<Ctx>('examples/browser')

// uvu counts a suite whose before() throws as not passed but prints nothing: say why here.
test.before(async (ctx) => {
  try {
    await setUp(ctx)
  } catch (error) {
    console.error(`examples/browser: setting up failed: ${error instanceof Error ? error.message : String(error)}`)
    await tearDown(ctx)
    throw error
  }
})
test.after(tearDown)

async function tearDown(ctx: Ctx) {
  await ctx.browser?.close()
  await ctx.server?.close()
  await ctx.example?.close()
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true })
}

async function setUp(ctx: Ctx) {
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: apt-get install -y chromium (or set HAFNIUM_CHROMIUM)`)
  ctx.pageErrors = []
  ctx.example = await within(startExampleServer({ quiet: true }), 30_000, 'esbuild to bundle and serve the example')
  ctx.dir = mkdtempSync(join(tmpdir(), 'hafnium-browser-'))
  ctx.serverConfig = {
    // The page's origin is the only one the server accepts: the example works behind an origin allowlist.
    server: { allowedOrigins: [new URL(ctx.example.url).origin] },
    // Every profile:auth retires the token it was given, and a retired one revokes the device at once:
    // a page that resumed with a stale token after a reload would be signed out.
    sessions: { rotateTokens: true, rotationGraceMs: 0 },
  }
  ctx.server = await startTestServer(ctx.serverConfig, { dir: ctx.dir })
  ctx.browser = await within(
    chromium.launch({
      executablePath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    }),
    30_000,
    `Chromium (${executablePath}) to start`,
  )
}

/** A fresh browser (its own storage) on the example page, pointed at the test server, its device named `name`. */
async function open(ctx: Ctx, name: string, server = ctx.server.url): Promise<Page> {
  const context = await ctx.browser.newContext()
  context.setDefaultTimeout(waitMs)
  const page = await context.newPage()
  page.on('pageerror', (error) => ctx.pageErrors.push(`${name}: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error') ctx.pageErrors.push(`${name}: console: ${message.text()}`)
  })
  await page.goto(`${ctx.example.url}?server=${encodeURIComponent(server)}`)
  await page.getByLabel("This device's name").fill(name)
  return page
}

/** Waits until the page's live region contains `text`; fails naming the page, the text and what the region says. */
async function says(page: Page, name: string, text: string) {
  try {
    await page.getByRole('status').filter({ hasText: text }).waitFor({ timeout: waitMs })
  } catch {
    const now = await page.getByRole('status').textContent().catch(() => '(unreadable)')
    throw new Error(`timed out after ${waitMs} ms waiting for ${name}'s status to say "${text}"; it says "${now}"`)
  }
}

/** Waits until the device table of `page` has (or, with present false, lacks) a row containing `text`. */
async function listed(page: Page, name: string, text: string, present = true) {
  const row = page.getByRole('table', { name: 'Your devices' }).getByRole('row').filter({ hasText: text })
  try {
    await row.first().waitFor({ state: present ? 'visible' : 'detached', timeout: waitMs })
  } catch {
    const rows = await page.getByRole('table', { name: 'Your devices' }).getByRole('row').allTextContents()
    throw new Error(`timed out after ${waitMs} ms waiting for ${name}'s device list to ${present ? 'show' : 'drop'} "${text}"; rows: ${JSON.stringify(rows)}`)
  }
}

async function logIn(page: Page, name: string, loginID: string) {
  const form = page.getByRole('form', { name: 'Log in' })
  await form.getByLabel('Username or email').fill(loginID)
  await form.getByLabel('Password').fill(password)
  await form.getByRole('button', { name: 'Log in' }).click()
  await says(page, name, `Logged in as @${loginID}@localhost.`)
}

test('sign up, log out, log in, reload; a second browser logs in (listed live) and revokes the first, which shows it was signed out', async (ctx) => {
  const laptop = await open(ctx, 'laptop')
  const signUp = laptop.getByRole('form', { name: 'Sign up' })
  await signUp.getByLabel('Username').fill('juliet')
  await signUp.getByLabel('Password').fill(password)
  await signUp.getByRole('button', { name: 'Sign up' }).click()
  await says(laptop, 'laptop', 'Account created; signed in as @juliet@localhost.')
  await listed(laptop, 'laptop', 'this device')

  await laptop.getByRole('button', { name: 'Log out' }).click()
  await says(laptop, 'laptop', 'You logged out.')
  await logIn(laptop, 'laptop', 'juliet')
  await listed(laptop, 'laptop', 'this device')
  const loggedIn = await laptop.getByLabel('Device ID').textContent()

  // A reload resumes the tab's session with profile:auth: the same device, not a new login. Twice: the
  // second reload presents the token the first one's profile:auth rotated to.
  for (const _ of [1, 2]) {
    await laptop.reload()
    await says(laptop, 'laptop', 'Signed in again as @juliet@localhost.')
    await listed(laptop, 'laptop', 'this device')
    assert.is(await laptop.getByLabel('Device ID').textContent(), loggedIn, 'the same device after the reload')
  }
  assert.is(await laptop.getByRole('table', { name: 'Your devices' }).getByRole('row').count(), 2, 'a header and one device')

  ctx.phone = await open(ctx, 'phone')
  await logIn(ctx.phone, 'phone', 'juliet')
  // device:new_login reaches the laptop's page: it says so and lists the phone without a reload.
  await says(laptop, 'laptop', 'New sign-in on your account: phone.')
  await listed(laptop, 'laptop', 'phone')
  await listed(ctx.phone, 'phone', 'laptop')

  // Revoking another device asks for the password (sudo) first.
  const revokeLaptop = ctx.phone.getByRole('button', { name: /^Revoke laptop/ })
  await revokeLaptop.click()
  await says(ctx.phone, 'phone', 'Enter your password to revoke laptop.')
  await ctx.phone.getByLabel('Password (needed to revoke another device)').fill(password)
  await revokeLaptop.click()
  await says(ctx.phone, 'phone', 'Revoked laptop.')
  await listed(ctx.phone, 'phone', 'laptop', false)

  await says(laptop, 'laptop', 'Signed out: this device was revoked from another device.')
  assert.ok(await laptop.getByRole('form', { name: 'Log in' }).isVisible(), 'the signed-out laptop offers the log-in form again')
  assert.not.ok(await laptop.getByRole('button', { name: 'Log out' }).isVisible(), 'the signed-out laptop hides the account section')
  assert.equal(ctx.pageErrors, [])
})

test('sign-in by device code: the page shows a code, the phone approves it, the page is signed in and the phone lists it live', async (ctx) => {
  assert.ok(ctx.phone, 'the previous test left the phone signed in')
  const tv = await open(ctx, 'tv')
  await tv.getByRole('button', { name: 'Get a sign-in code' }).click()
  const code = tv.getByRole('status').filter({ hasText: /Your sign-in code is [A-Z]{4}-[A-Z]{4}\./ })
  await code.waitFor({ timeout: waitMs }).catch(() => {
    throw new Error(`timed out after ${waitMs} ms waiting for the tv page to show its sign-in code`)
  })
  const userCode = (await tv.getByLabel('Your sign-in code').textContent()) ?? ''
  assert.match(userCode, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)

  const approve = ctx.phone.getByRole('form', { name: 'Approve a device' })
  await approve.getByLabel('Code shown on the other device').fill(userCode.toLowerCase().replace('-', ' ')) // as a person might type it
  await approve.getByRole('button', { name: 'Approve' }).click()
  await says(ctx.phone, 'phone', 'Approved tv; it is now signed in to your account.')
  await says(tv, 'tv', 'Approved; signed in as @juliet@localhost.')
  await listed(tv, 'tv', 'this device')
  await listed(ctx.phone, 'phone', 'tv')
  assert.equal(ctx.pageErrors, [])
})

test('a denied device code: the waiting page says it was denied and stays signed out', async (ctx) => {
  const radio = await open(ctx, 'radio')
  await radio.getByRole('button', { name: 'Get a sign-in code' }).click()
  const shown = radio.getByLabel('Your sign-in code')
  await shown.filter({ hasText: /-/ }).waitFor({ timeout: waitMs }).catch(() => {
    throw new Error(`timed out after ${waitMs} ms waiting for the radio page to show its sign-in code`)
  })
  const approve = ctx.phone.getByRole('form', { name: 'Approve a device' })
  await approve.getByLabel('Code shown on the other device').fill((await shown.textContent()) ?? '')
  await approve.getByRole('button', { name: 'Deny' }).click()
  await says(ctx.phone, 'phone', 'Denied: that device was not signed in.')
  await says(radio, 'radio', 'The sign-in was denied.')
  assert.ok(await radio.getByRole('form', { name: 'Log in' }).isVisible(), 'the radio still offers the log-in form')
  assert.equal(ctx.pageErrors, [])
})

test('the server restarts: the page says the connection was lost, reconnects as the same device, and a reload still resumes', async (ctx) => {
  assert.ok(ctx.phone, 'the first test left the phone signed in')
  const deviceID = await ctx.phone.getByLabel('Device ID').textContent()
  const port = Number(new URL(ctx.server.url).port)
  await ctx.server.close()
  await says(ctx.phone, 'phone', 'Connection lost; reconnecting…')
  ctx.server = await startTestServer({ ...ctx.serverConfig, server: { ...ctx.serverConfig.server, port } }, { dir: ctx.dir })
  // The client re-authenticates on its own; with rotation that hands it a new token, which the page must
  // save: the reload below presents it, and presenting the retired one would revoke the device.
  await says(ctx.phone, 'phone', 'Reconnected.')
  await listed(ctx.phone, 'phone', 'this device')
  await ctx.phone.reload()
  await says(ctx.phone, 'phone', 'Signed in again as @juliet@localhost.')
  assert.is(await ctx.phone.getByLabel('Device ID').textContent(), deviceID, 'the same device after the restart and the reload')
  // Chromium logs each refused reconnection attempt as a console error: expected while the server was down.
  ctx.pageErrors = ctx.pageErrors.filter((error) => !/WebSocket connection to .* failed/.test(error))
  assert.equal(ctx.pageErrors, [])
})

test('past the sign-up budget the server asks for a captcha: the page solves it (WebCrypto in Chromium) and the sign-up goes through', async (ctx) => {
  // register_ip holds one sign-up and refills one per 1,000 s: the second can only pass with a solved challenge.
  const strict = await startTestServer({
    ...ctx.serverConfig,
    ratelimit: { enabled: true, rules: { register_ip: { subject: 'ip', types: ['profile:register'], capacity: 1, refillPerSecond: 0.001, captcha: true } } },
    captcha: { maxCounter: 5000, expiresSeconds: 300 },
  })
  try {
    const page = await open(ctx, 'kiosk', strict.url)
    // Every text the live region shows, however briefly (the solving notice is replaced by the outcome).
    await page.evaluate(() => {
      const region = document.getElementById('status')!
      const seen: string[] = ((window as unknown as { statuses: string[] }).statuses = [])
      new MutationObserver(() => seen.push(region.textContent ?? '')).observe(region, { childList: true, characterData: true, subtree: true })
    })
    for (const [i, username] of ['tybalt', 'paris'].entries()) {
      const signUp = page.getByRole('form', { name: 'Sign up' })
      await signUp.getByLabel('Username').fill(username)
      await signUp.getByLabel('Password').fill(password)
      await signUp.getByRole('button', { name: 'Sign up' }).click()
      await says(page, 'kiosk', `Account created; signed in as @${username}@localhost.`)
      if (i === 0) {
        await page.getByRole('button', { name: 'Log out' }).click()
        await says(page, 'kiosk', 'You logged out.')
      }
    }
    const statuses = await page.evaluate(() => (window as unknown as { statuses: string[] }).statuses)
    assert.equal(statuses.filter((text) => text.includes('proof-of-work')).length, 1, `one captcha, for the second sign-up: ${JSON.stringify(statuses)}`)
    assert.equal(ctx.pageErrors, [])
  } finally {
    await strict.close()
  }
})

test('the bundle holds the page and @hafnium/client only (no other package, nothing Node-only)', (ctx) => {
  const outside = ctx.example.inputs.filter((path) => !/^examples\/browser\/src\/[\w-]+\.ts$/.test(path) && !/^packages\/client\/dist\/[\w-]+\.js$/.test(path))
  assert.equal(outside, [], 'bundle inputs outside the page and the client package')
  assert.ok(ctx.example.inputs.some((path) => path.startsWith('packages/client/dist/')), 'the client comes from its built package')
})

test.run()
