/**
 * A typed client generated from `/openapi.json` (openapi-typescript, at test time) drives
 * the whole scenario of test/openapi-client/scenario.ts with openapi-fetch over a real
 * socket, on every dialect. The scenario is type-checked against the freshly generated
 * types first, so a drift between the schemas and the code that uses them fails here.
 */
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { it } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript'
import ts from 'typescript'
import { ADMIN, forEachHttpDialect } from './http-setup.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const CLIENT_DIR = join(HERE, 'openapi-client')
const GENERATED = join(CLIENT_DIR, 'generated.ts')
const SCENARIO = join(CLIENT_DIR, 'scenario.ts')

/** The scenario is loaded by path: it imports the generated types, which the repository's
 * own type check (tsconfig.json excludes test/openapi-client) must not depend on. */
interface Scenario {
  runScenario(input: { baseUrl: string; email: string; password: string; typeKey: string }): Promise<void>
}

/** The repository's compiler options (strict), for the scenario and the generated types. */
function compilerOptions(): ts.CompilerOptions {
  const root = join(HERE, '..')
  const file = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile)
  assert.equal(file.error, undefined)
  return { ...ts.parseJsonConfigFileContent(file.config, ts.sys, root).options, noEmit: true }
}

function typeErrors(files: string[]): string {
  const program = ts.createProgram(files, compilerOptions())
  const diagnostics = ts.getPreEmitDiagnostics(program)
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => HERE,
    getNewLine: () => '\n',
  })
}

/** The last generated source that type-checked: every dialect serves the same document,
 * so the (slow) check runs again only if the document differs. */
let checked: string | undefined

forEachHttpDialect('openapi-generated client', (f) => {
  it('generates the types from /openapi.json; the scenario type-checks against them', async () => {
    const doc = await f.call('GET', '/openapi.json', { token: null })
    assert.equal(doc.status, 200)
    const source = COMMENT_HEADER + astToString(await openapiTS(doc.body))
    assert.match(source, /"\/api\/v1\/entries\/\{type\}\/\{id\}"/)
    if (source === checked) return
    writeFileSync(GENERATED, source)
    assert.equal(typeErrors([SCENARIO]), '')
    checked = source
  })

  it('drives login, content type, entry, stale patch (409), publish, history, state, restore', async () => {
    const address = await f.app.listen({ host: '127.0.0.1', port: 0 })
    const { runScenario } = (await import(pathToFileURL(SCENARIO).href)) as Scenario
    await runScenario({
      baseUrl: address,
      email: ADMIN.email,
      password: ADMIN.password,
      typeKey: `article_${f.name}`,
    })
  })
})
