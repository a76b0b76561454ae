import { type Compilable, CompiledQuery, type Kysely } from 'kysely'
import { bind, compile, type Template } from './statements.js'

/**
 * Compiled reads by shape, run on the read connection: building and compiling a Kysely
 * query costs more than running it on SQLite, so each shape (which filters are present) is
 * compiled once. At most `max` shapes are kept.
 */
export class ReadTemplates {
  // biome-ignore lint/suspicious/noExplicitAny: reads address the engine's tables by name.
  readonly #kysely: Kysely<any>
  readonly #max: number
  readonly #templates = new Map<string, Template>()

  // biome-ignore lint/suspicious/noExplicitAny: as above.
  constructor(kysely: Kysely<any>, max: number) {
    this.#kysely = kysely
    this.#max = max
  }

  template(key: string, build: () => Compilable): Template {
    let t = this.#templates.get(key)
    if (t === undefined) {
      t = compile(build())
      if (this.#templates.size >= this.#max) this.#templates.clear()
      this.#templates.set(key, t)
    }
    return t
  }

  async run(t: Template, args: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>[]> {
    const { sql: text, parameters } = bind(t, args)
    const result = await this.#kysely.executeQuery(CompiledQuery.raw(text, parameters as unknown[]))
    return result.rows as Record<string, unknown>[]
  }
}
