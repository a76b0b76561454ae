import { type Compilable, type Kysely, sql } from 'kysely'
import { AuditedError } from '../core/errors.js'
import type { Dialect, Statement } from '../db/dialect.js'
import { EVENT_COLUMNS } from './change-event.js'
import type { Entity } from './entity.js'

/** Marks where a named argument goes when a template is compiled. */
class Slot {
  constructor(readonly name: string) {}
}

/** A compiled statement whose parameters are filled by name. Compiled once per shape:
 * Kysely's compile step costs more than a SQLite write, so hot paths never repeat it. */
export interface Template {
  readonly sql: string
  readonly slots: readonly string[]
}

export function compile(query: Compilable): Template {
  const { sql: text, parameters } = query.compile()
  return {
    sql: text,
    slots: parameters.map((p) => {
      if (!(p instanceof Slot))
        throw new AuditedError('internal', 'A statement template has an unnamed parameter.')
      return p.name
    }),
  }
}

/** Fills a multi-row INSERT template from row-major values (`rows[i][j]` for column j),
 * skipping the per-slot lookup: a 100-row batch of events has 2,000 parameters. */
export function bindRows(template: Template, rows: readonly (readonly unknown[])[]): Statement {
  return { sql: template.sql, parameters: rows.flat() }
}

/** Checks that an INSERT template's slots are row-major, which `bindRows` relies on. */
function assertRowMajor(
  template: Template,
  prefix: string,
  columns: readonly string[],
  rows: number,
): Template {
  const ok =
    template.slots.length === rows * columns.length &&
    template.slots.every(
      (s, k) => s === `${prefix}${Math.floor(k / columns.length)}:${columns[k % columns.length]}`,
    )
  if (!ok) throw new AuditedError('internal', 'An INSERT template does not bind row by row.')
  return template
}

/** Fills a template's parameters from `args` (every slot must be present). */
export function bind(template: Template, args: Readonly<Record<string, unknown>>): Statement {
  return {
    sql: template.sql,
    parameters: template.slots.map((name) => {
      if (!Object.hasOwn(args, name))
        throw new AuditedError('internal', `Missing statement argument ${name}.`)
      return args[name]
    }),
  }
}

/** A named parameter of a template (typed as the value it stands for). */
export const slot = (name: string) => new Slot(name) as unknown as string

/** Where a row is found: by key, within the tenant when the entity has one. */
export interface Lookup {
  readonly lock: boolean
  /** Compare the version column with argument `expected`. */
  readonly expectVersion?: boolean
}

/**
 * Every statement the engine runs for one entity, built with Kysely for the dialect and
 * cached by shape. Arguments: `id`, `tenant`, `expected`, `v:<column>` for written values,
 * `r<i>:<column>` for the rows of a multi-row insert.
 */
export class EntityStatements {
  readonly #db: Kysely<Record<string, Record<string, unknown>>>
  readonly #dialect: Dialect
  readonly #entity: Entity<object>
  readonly #cache = new Map<string, Template>()

  constructor(db: Kysely<Record<string, Record<string, unknown>>>, dialect: Dialect, entity: Entity<object>) {
    this.#db = db
    this.#dialect = dialect
    this.#entity = entity
  }

  #cached(key: string, build: () => Compilable): Template {
    let t = this.#cache.get(key)
    if (t === undefined) {
      t = compile(build())
      this.#cache.set(key, t)
    }
    return t
  }

  /** A multi-row INSERT; bind it with `bindRows`. */
  insert(columns: readonly string[], rows: number): Template {
    const key = `insert:${rows}:${columns.join(',')}`
    let t = this.#cache.get(key)
    if (t === undefined) {
      const values = Array.from({ length: rows }, (_, i) =>
        Object.fromEntries(columns.map((c) => [c, slot(`r${i}:${c}`)])),
      )
      const q = this.#db.insertInto(this.#entity.table).values(values)
      t = assertRowMajor(compile(this.#dialect.supportsReturning ? q.returningAll() : q), 'r', columns, rows)
      this.#cache.set(key, t)
    }
    return t
  }

  select(lookup: Lookup): Template {
    return this.#cached(`select:${lookup.lock}`, () => {
      let q = this.#where(this.#db.selectFrom(this.#entity.table).selectAll(), false)
      if (lookup.lock && this.#dialect.supportsRowLocks) q = q.forUpdate()
      return q
    })
  }

  /** Read-back of a row whose key the database generated, where INSERT has no RETURNING
   * (the dialect's `lastInsertIdSql`). */
  selectLastInsert(): Template {
    const lastId = this.#dialect.lastInsertIdSql
    if (lastId === undefined)
      throw new AuditedError('internal', 'This database cannot read back a generated key without RETURNING.')
    return this.#cached('select:last-insert', () =>
      this.#db
        .selectFrom(this.#entity.table)
        .selectAll()
        .where(this.#entity.primaryKey, '=', sql.raw<string>(lastId)),
    )
  }

  /** Rows by a list of keys (MySQL read-back of a multi-row insert), within the tenant. */
  selectKeys(count: number): Template {
    return this.#cached(`select-keys:${count}`, () => {
      const keys = Array.from({ length: count }, (_, i) => slot(`k${i}`))
      let q = this.#db.selectFrom(this.#entity.table).selectAll().where(this.#entity.primaryKey, 'in', keys)
      if (this.#entity.tenantColumn) q = q.where(this.#entity.tenantColumn, '=', slot('tenant'))
      return q
    })
  }

  update(columns: readonly string[], lookup: Lookup): Template {
    return this.#cached(`update:${lookup.expectVersion}:${columns.join(',')}`, () => {
      const set: Record<string, unknown> = Object.fromEntries(columns.map((c) => [c, slot(`v:${c}`)]))
      const version = this.#entity.versionColumn
      if (version) set[version] = sql`${sql.ref(version)} + 1`
      const q = this.#where(this.#db.updateTable(this.#entity.table).set(set), lookup.expectVersion === true)
      return this.#dialect.supportsReturning ? q.returningAll() : q
    })
  }

  delete(lookup: Lookup): Template {
    return this.#cached(`delete:${lookup.expectVersion}`, () =>
      this.#where(this.#db.deleteFrom(this.#entity.table), lookup.expectVersion === true),
    )
  }

  // biome-ignore lint/suspicious/noExplicitAny: shared by select, update and delete builders.
  #where<Q extends { where: (...args: any[]) => Q }>(q: Q, expectVersion: boolean): Q {
    let out = q.where(this.#entity.primaryKey, '=', slot('id'))
    if (this.#entity.tenantColumn) out = out.where(this.#entity.tenantColumn, '=', slot('tenant'))
    if (expectVersion && this.#entity.versionColumn)
      out = out.where(this.#entity.versionColumn, '=', slot('expected'))
    return out
  }
}

/** The event columns to read, `hlc` as exact decimal text. The alias shadows the column in
 * ORDER BY (PostgreSQL, SQLite), so queries must order and filter by `change_events.hlc`:
 * ordering by the text alias cannot use the index and sorts the whole table. */
export function eventSelection(dialect: Dialect) {
  return EVENT_COLUMNS.map((c) =>
    c === 'hlc' ? sql.raw<string>(dialect.bigintAsText('hlc')).as('hlc') : sql.ref(c).as(c),
  )
}

/** Statements on the change-event table. */
export class EventStatements {
  readonly #db: Kysely<Record<string, Record<string, unknown>>>
  readonly #dialect: Dialect
  readonly #cache = new Map<string, Template>()

  constructor(db: Kysely<Record<string, Record<string, unknown>>>, dialect: Dialect) {
    this.#db = db
    this.#dialect = dialect
  }

  /** Largest batch of events one INSERT carries. */
  get maxRows(): number {
    return Math.min(500, Math.floor(this.#dialect.maxParameters / EVENT_COLUMNS.length))
  }

  insert(rows: number): Template {
    const key = `insert:${rows}`
    let t = this.#cache.get(key)
    if (t === undefined) {
      // Where a sequencer reserved the positions just before (see `reserve`), each row's
      // `feed_pos` is read from it; elsewhere the column default fills it.
      const position = this.#dialect.feed.positionSql
      const values = Array.from({ length: rows }, (_, i) => {
        const row: Record<string, unknown> = Object.fromEntries(
          EVENT_COLUMNS.map((c) => [c, slot(`e${i}:${c}`)]),
        )
        if (position !== undefined) row.feed_pos = sql.raw(position(i, rows))
        return row
      })
      t = assertRowMajor(
        compile(this.#db.insertInto('change_events').values(values)),
        'e',
        EVENT_COLUMNS,
        rows,
      )
      this.#cache.set(key, t)
    }
    return t
  }

  /** The statement reserving feed positions for the next `rows` events, sent right before
   * their INSERT, or undefined where the database assigns positions itself. */
  reserve(rows: number): Statement | undefined {
    const reserve = this.#dialect.feed.reserveSql
    return reserve === undefined ? undefined : { sql: reserve(rows), parameters: [] }
  }

  /** One event by id, `hlc` as text. */
  byId(): Template {
    let t = this.#cache.get('by-id')
    if (t === undefined) {
      t = compile(
        this.#db
          .selectFrom('change_events')
          .select(eventSelection(this.#dialect))
          .where('event_id', '=', slot('eventId')),
      )
      this.#cache.set('by-id', t)
    }
    return t
  }

  /** The highest HLC among the events of `count` records (`table`, `k0`…): a write takes
   * a later HLC, so per record HLC order is commit order even across processes and clocks. */
  lastHlc(count: number): Template {
    const key = `last-hlc:${count}`
    let t = this.#cache.get(key)
    if (t === undefined) {
      t = compile(
        this.#db
          .selectFrom('change_events')
          .select(sql.raw<string>(this.#dialect.bigintAsText('MAX(hlc)')).as('hlc'))
          .where('table_name', '=', slot('table'))
          .where(
            'record_id',
            'in',
            Array.from({ length: count }, (_, i) => slot(`k${i}`)),
          ),
      )
      this.#cache.set(key, t)
    }
    return t
  }

  /** The newest event of one record (within the tenant when `withTenant`). */
  lastOfRecord(withTenant: boolean): Template {
    const key = `last-of-record:${withTenant}`
    let t = this.#cache.get(key)
    if (t === undefined) {
      let q = this.#db
        .selectFrom('change_events')
        .select(eventSelection(this.#dialect))
        .where('table_name', '=', slot('table'))
        .where('record_id', '=', slot('recordId'))
      if (withTenant) q = q.where('tenant_id', '=', slot('tenant'))
      t = compile(q.orderBy('change_events.hlc', 'desc').orderBy('event_id', 'desc').limit(sql<number>`1`))
      this.#cache.set(key, t)
    }
    return t
  }
}
