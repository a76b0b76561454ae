/**
 * Browser-test kit for the audit explorer: the built server (`packages/cms/dist/cli/main.js
 * serve`, as `npm start` runs it) on a fresh database, Debian's `chromium` driven by
 * `playwright-core`, axe-core, screenshots under `test-output/explorer/`.
 *
 * Without `chromium` on the PATH the browser tests are skipped with a banner; under
 * `CI=true` they fail instead (`.ci/run` installs it).
 */
import assert from 'node:assert/strict'
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Locator, Page } from 'playwright-core'
import { chromium } from 'playwright-core'
import { killGroup, track, within } from './child-support.js'

export const ROOT = new URL('..', import.meta.url).pathname
export const OUTPUT = join(ROOT, 'test-output', 'explorer')
export const ADMIN = { email: 'explorer@example.test', password: 'explorer password 1' }

function findChromium(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

export const CHROMIUM = findChromium()
/** Why the browser tests are skipped, or false. Under CI a missing browser is a failure, not a skip. */
export const browserSkip: string | false = (() => {
  if (CHROMIUM !== undefined) return false
  const why =
    '`chromium` is not installed (apt-get install -y chromium): the explorer browser tests cannot run'
  if (process.env.CI === 'true') return false
  process.stderr.write(`\n${'!'.repeat(100)}\n!!! SKIPPED: ${why}\n${'!'.repeat(100)}\n\n`)
  return why
})()

export function requireChromium(): string {
  assert.ok(CHROMIUM !== undefined, 'CI=true: chromium must be installed (.ci/run installs it with apt-get)')
  return CHROMIUM
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: requireChromium(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

export interface Server {
  readonly url: string
  readonly output: () => string
  close(): Promise<void>
}

/** The built server on `databaseUrl`, with a known admin, until it listens. */
export async function startServer(databaseUrl: string, env: Record<string, string> = {}): Promise<Server> {
  const main = join(ROOT, 'packages/cms/dist/cli/main.js')
  assert.ok(existsSync(main), 'run `npm run build` first (the browser tests drive the built server)')
  assert.ok(
    existsSync(join(ROOT, 'packages/cms/dist/admin/index.html')),
    'the explorer is not built: run `npm run build`',
  )
  const dataDir = mkdtempSync(join(tmpdir(), 'explorer-data-'))
  const child: ChildProcess = spawn(process.execPath, [main, 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      DATABASE_URL: databaseUrl,
      DATA_DIR: dataDir,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'warn',
      SESSION_PURGE_INTERVAL_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  track(child)
  let out = ''
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString()
  })
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m =
        /Explorer: +(http:\/\/127\.0\.0\.1:\d+)\/admin/.exec(out) ??
        /explorer at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) {
        clearInterval(timer)
        resolve(m[1]!)
      }
    }, 20)
    void exited.then(() => {
      clearInterval(timer)
      reject(new Error(`server exited before listening:\n${out}`))
    })
  })
  const url = await within(listening, 60_000, 'the server listening', () => out).catch((e: unknown) => {
    killGroup(child)
    throw e
  })
  return {
    url,
    output: () => out,
    async close() {
      child.kill('SIGTERM')
      await within(exited, 30_000, 'exit after SIGTERM', () => out).catch((e: unknown) => {
        killGroup(child)
        throw e
      })
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(OUTPUT, { recursive: true })
  const path = join(OUTPUT, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

interface AxeViolation {
  id: string
  impact: string | null
  help: string
  nodes: { target: unknown[] }[]
}

/** axe-core on the page as it is: the serious and critical violations (should be none). */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol: the page's CSP (script-src 'self') stays in force for the app.
  await page.evaluate(AXE)
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe
    return (await axe.run()).violations
  })
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}

export function describeViolations(vs: readonly AxeViolation[]): string {
  return vs
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`)
    .join('\n')
}

/** Signs in through the form and waits for the activity screen. */
export async function signIn(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/admin/`)
  await page.getByLabel('E-mail').fill(ADMIN.email)
  await page.getByLabel('Password').fill(ADMIN.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Activity', level: 1 }).waitFor()
}

/** Adds field number `n` (the form's second and later) to the content-type form. */
export async function addField(page: Page, n: number, name: string, type: string): Promise<void> {
  await page.getByRole('button', { name: 'Add field' }).click()
  await page.getByLabel(`Field ${n} name`).fill(name)
  await page.getByLabel(`Field ${n} type`).selectOption(type)
}

/** A bearer token for seeding through the API. */
export async function apiToken(url: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ADMIN),
  })
  assert.equal(res.status, 200)
  return ((await res.json()) as { token: string }).token
}

/** Until the locator's text is `text` (20 s). */
export async function assertText(locator: Locator, text: string): Promise<void> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const t = (await locator.textContent())?.trim()
    if (t === text) return
    assert.ok(Date.now() < deadline, `expected "${text}", saw "${t}"`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Until the locator matches `n` elements (20 s). */
export async function waitCount(locator: Locator, n: number): Promise<void> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const c = await locator.count()
    if (c === n) return
    assert.ok(Date.now() < deadline, `expected ${n}, saw ${c}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A local port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}
