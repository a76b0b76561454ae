/**
 * Issue 8: the library installs as a stranger would install it. `npm pack` the library,
 * install the tarball with only one database driver into a fresh project, run the README's
 * example from a plain `.mjs` file with `node` (no TypeScript loader) against that database,
 * and type-check the same code as `.ts` with `tsc` (nodenext, strict, no @types). The CMS
 * tarball's `audited` CLI runs from its built JavaScript.
 *
 * better-sqlite3 is a native addon whose prebuilt binary prebuild-install fetches from GitHub,
 * which this machine cannot reach; rather than compile it for minutes per run, the SQLite
 * project installs it with scripts off and receives the binary the workspace already built
 * for this Node (what prebuild-install would have placed there).
 */
import assert from 'node:assert/strict'
import { type ExecFileOptions, execFile } from 'node:child_process'
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { leafWorkerHasCore } from '../packages/audited/src/index.js'
import { BOUNDED } from './child-support.js'
import { DIALECTS } from './setup.js'

const exec = promisify(execFile)
/** Every command killed after ten minutes at most (npm pack builds, npm install): a command
 * that never ends fails its test instead of keeping the file from ending. */
const run = (file: string, args: readonly string[], options: ExecFileOptions = {}) =>
  exec(file, args, { ...BOUNDED, timeout: 600_000, ...options, encoding: 'utf8' })
const ROOT = new URL('..', import.meta.url).pathname
const DRIVERS = { sqlite: 'better-sqlite3', postgres: 'pg', mysql: 'mysql2' } as const
const OTHER_HEAVY = ['fastify', 'ioredis', 'prom-client', '@audited/cms', 'typebox', 'tsx', 'typescript']

const versionOf = (pkg: string) =>
  (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string })
    .version

/** The README's example: the ```js block after the `<!-- example: quickstart -->` marker. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const match = /<!-- example: quickstart -->\s*```js\n([\s\S]*?)```/.exec(readme)
  assert.ok(match, 'README.md has the quickstart example block')
  return match[1]!
}

function sizeOf(dir: string): number {
  let total = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) total += sizeOf(path)
    else if (entry.isFile()) total += statSync(path).size
  }
  return total
}

const npm = (cwd: string, ...args: string[]) =>
  run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  })

function newProject(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `audited-${name}-`))
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'stranger', private: true, type: 'module' }),
  )
  return dir
}

describe('the packed library, installed as a stranger would', { concurrency: true }, () => {
  let work: string
  let library: string
  let cms: string
  const dirs: string[] = []

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'audited-pack-'))
    dirs.push(work)
    // `npm pack` runs each package's prepack (its tsc build), as a publish would.
    for (const ws of ['audited', '@audited/cms'])
      await npm(ROOT, 'pack', '-w', ws, '--pack-destination', work)
    const tarballs = readdirSync(work)
    library = join(work, tarballs.find((f) => f.startsWith('audited-'))!)
    cms = join(work, tarballs.find((f) => f.startsWith('audited-cms-'))!)
  })
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  it('the tarball ships only what a user needs: built JavaScript, declarations, package.json', async () => {
    const { stdout } = await run('tar', ['-tzf', library])
    const files = stdout.trim().split('\n')
    assert.ok(files.includes('package/dist/index.js'))
    assert.ok(files.includes('package/dist/index.d.ts'))
    assert.ok(files.includes('package/package.json'))
    const stray = files.filter(
      (f) => !/^package\/(dist\/.*\.(js|d\.ts|js\.map|d\.ts\.map)|package\.json|README\.md|LICENSE)$/.test(f),
    )
    assert.deepEqual(stray, [], 'no sources, tests or build info')
  })

  it('installed alone it pulls no driver, no server framework; its size is reported', async () => {
    const dir = newProject('alone')
    dirs.push(dir)
    await npm(dir, 'install', library)
    const modules = join(dir, 'node_modules')
    for (const pkg of [...Object.values(DRIVERS), ...OTHER_HEAVY]) {
      assert.throws(() => statSync(join(modules, pkg)), `${pkg} is not installed`)
    }
    const size = sizeOf(modules)
    // Reported, not asserted: the README gives the figure.
    process.stdout.write(`# library-only install: ${(size / 1024 / 1024).toFixed(2)} MiB in node_modules\n`)
    const script = join(dir, 'missing.mjs')
    writeFileSync(
      script,
      `import { openDatabase } from 'audited'
try { await openDatabase('postgres://nobody@127.0.0.1:1/x'); console.log('opened') }
catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, details: e.details })) }`,
    )
    const { stdout } = await run(process.execPath, [script], { cwd: dir })
    const answer = JSON.parse(stdout) as { code: string; message: string; details: { package: string } }
    assert.equal(answer.code, 'unavailable')
    assert.equal(answer.details.package, 'pg')
    assert.match(answer.message, /npm install pg/)
  })

  for (const d of DIALECTS) {
    it(`with only ${DRIVERS[d.name]}, the README example runs from .mjs and type-checks as .ts [${d.name}]`, {
      skip: d.skip,
    }, async () => {
      const driver = DRIVERS[d.name]
      const dir = newProject(d.name)
      dirs.push(dir)
      const database = await d.create()
      try {
        if (d.name === 'sqlite') {
          await npm(dir, 'install', '--ignore-scripts', library, `${driver}@${versionOf(driver)}`)
          const release = join(dir, 'node_modules', driver, 'build', 'Release')
          mkdirSync(release, { recursive: true })
          copyFileSync(
            join(ROOT, 'node_modules', driver, 'build', 'Release', 'better_sqlite3.node'),
            join(release, 'better_sqlite3.node'),
          )
        } else {
          await npm(dir, 'install', library, `${driver}@${versionOf(driver)}`)
        }
        for (const other of Object.values(DRIVERS).filter((x) => x !== driver)) {
          assert.throws(() => statSync(join(dir, 'node_modules', other)), `${other} is not installed`)
        }
        const example = readmeExample()
        assert.equal(
          readFileSync(join(ROOT, 'examples', 'quickstart.mjs'), 'utf8'),
          example,
          'examples/quickstart.mjs is the README example',
        )
        assert.ok(example.includes("'sqlite:app.db'"))
        const code = example.replace("'sqlite:app.db'", JSON.stringify(database.url))
        writeFileSync(join(dir, 'example.mjs'), code)
        for (const _ of [1, 2]) {
          // Twice: the example is safe to run again on the same database.
          const { stdout } = await run(process.execPath, ['example.mjs'], { cwd: dir })
          assert.deepEqual(
            stdout
              .trim()
              .split('\n')
              .map((line) => line.split(' ')[0]),
            ['create', 'update', 'publish'],
            stdout,
          )
        }

        // The sealer reads and hashes in a worker thread where one has a core of its own
        // (leafWorkerHasCore), whose file must ship and start from the built JavaScript (no
        // loader): seal what the example wrote, then verify. Where the default seals on the
        // main thread, a first run asks for the worker, so that it is the worker that seals
        // the example's events from the package all the same; both runs sign with one key.
        writeFileSync(
          join(dir, 'seal.mjs'),
          [
            "import { openDatabase, createAuditor, startSealer, generateSigningKey, signerFromKey, verifyLogs } from 'audited'",
            "import { parseVerifierKey } from 'audited/proofs'",
            `const db = await openDatabase(${JSON.stringify(database.url)})`,
            'const auditor = createAuditor({ db })',
            "import { existsSync, readFileSync, writeFileSync } from 'node:fs'",
            "if (!existsSync('signing.key')) writeFileSync('signing.key', generateSigningKey('stranger'))",
            "const signer = signerFromKey(readFileSync('signing.key', 'utf8'))",
            "const sealer = startSealer({ db, auditor, signer, ...(process.argv[2] === 'worker' ? { worker: true } : {}) })",
            'await sealer.flush(20000)',
            'await sealer.stop()',
            'const report = await verifyLogs({ db, auditor, verifier: parseVerifierKey(signer.verifierKey) })',
            'console.log(JSON.stringify({ threaded: sealer.threaded, threads: report.threads, events: report.events, clean: report.clean }))',
            'await auditor.close(); await db.close()',
          ].join('\n'),
        )
        const byDefault = leafWorkerHasCore(database.url)
        if (!byDefault) {
          const asked = JSON.parse((await run(process.execPath, ['seal.mjs', 'worker'], { cwd: dir })).stdout)
          assert.equal(asked.threaded, true, 'the sealer ran the worker it was asked for')
          assert.ok(asked.events >= 6, `verified ${asked.events} events`)
          assert.equal(asked.clean, true, 'verify is clean after the worker sealed')
        }
        const sealed = JSON.parse((await run(process.execPath, ['seal.mjs'], { cwd: dir })).stdout)
        assert.equal(sealed.threaded, byDefault, 'the sealer ran its worker thread where it has a core')
        assert.ok(sealed.events >= 6, `verified ${sealed.events} events`)
        assert.equal(sealed.clean, true, 'verify is clean')
        // verify reads a SQLite database in leaf workers too (two, or one per CPU); a server
        // builds the leaves on its own connections.
        assert.equal(
          sealed.threads,
          d.name === 'sqlite' ? Math.min(2, availableParallelism()) : 0,
          'verify ran its worker threads where it reads in process',
        )

        writeFileSync(join(dir, 'example.ts'), code)
        writeFileSync(
          join(dir, 'tsconfig.json'),
          JSON.stringify({
            compilerOptions: {
              target: 'ES2022',
              module: 'nodenext',
              moduleResolution: 'nodenext',
              strict: true,
              noEmit: true,
              skipLibCheck: false,
              lib: ['ES2022', 'DOM'],
              types: [],
            },
            files: ['example.ts'],
          }),
        )
        const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
        const checked = await run(process.execPath, [tsc, '-p', dir]).catch((e: { stdout: string }) => e)
        assert.equal('code' in checked ? checked.stdout : '', '', 'tsc reports no error')
      } finally {
        await database.drop()
      }
    })
  }

  it('the CMS tarball installs next to the library and `npx audited --help` runs without a TypeScript loader', async () => {
    const dir = newProject('cli')
    dirs.push(dir)
    // Scripts off: the CLI's help needs no database, so no native driver is built.
    await npm(dir, 'install', '--ignore-scripts', library, cms)
    assert.throws(() => statSync(join(dir, 'node_modules', 'tsx')), 'no TypeScript loader installed')
    const { stdout } = await run('npx', ['--no-install', 'audited', '--help'], { cwd: dir })
    assert.match(stdout, /^audited <command>/)
    assert.match(stdout, /serve/)
  })
})
