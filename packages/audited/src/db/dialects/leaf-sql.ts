/**
 * Each database's pieces for building a change event's leaf text in SQL (see `LeafSql`):
 * JSON string quoting, the stored JSON text, ISO-8601 milliseconds, concatenation, and
 * SHA-256 where the server has it. A piece that escapes or formats differently from the
 * engine only costs speed: `verify` re-reads and hashes in full every event whose result
 * does not match its leaf.
 *
 * Sound only because every piece is a complete JSON value (string literals from the
 * database's own quoting; JSON columns checked to be JSON): then a text equal to the sealed
 * canonical text parses into the same twenty members, so each column holds exactly what was
 * sealed. Raw text spliced in unchecked could shift content between fields and still match.
 */
import type { LeafSql } from '../dialect.js'

const JSON_COLUMNS = ['old_values', 'new_values', 'changed_fields', 'metadata']

/** SQLite: `json_quote` escapes as `JSON.stringify`; JSON and time columns hold the text
 * the engine wrote (ISO-8601 from `toISOString`); no SHA-256 (hashed by the caller). */
export const SQLITE_LEAF_SQL: LeafSql = {
  // A number stored in a text column quotes as a number (a mismatch: the full path); a
  // BLOB makes json_quote fail, and the page is read in full instead.
  readDepth: 1,
  readThreads: 2,
  jsonString: (c) => `json_quote(${c})`,
  storedJson: (c, fallback) =>
    `CASE WHEN ${c} IS NULL THEN '${fallback}' WHEN json_valid(${c}) THEN ${c} ELSE '~' END`,
  isoMillis: (c) => `json_quote(${c})`,
  concat: (parts) => parts.join(' || '),
  joined: (expr, order) => `group_concat(${expr}, ',' ORDER BY ${order})`,
}

/** PostgreSQL: `to_json(text)` escapes as `JSON.stringify`; `json` columns keep the text
 * as written (migration 8 turns the first migration's `jsonb` into `json`); a time with
 * sub-millisecond digits yields text no leaf can match (the API drops those digits).
 * Hashed by the server: receiving the ~1 kB text and hashing it costs Node more (measured
 * 6 µs an event against 2 µs of the server's). */
export const POSTGRES_LEAF_SQL: LeafSql = {
  readDepth: 2,
  jsonString: (c) => `COALESCE(to_json(${c})::text, 'null')`,
  // The cast to json refuses text that is not JSON (a column retyped behind our back).
  storedJson: (c, fallback) => `COALESCE(${c}::json::text, '${fallback}')`,
  isoMillis: (c) =>
    `'"' || to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || ` +
    `CASE WHEN to_char(${c}, 'US') LIKE '%000' THEN '"' ELSE '~' END`,
  concat: (parts) => parts.join(' || '),
  joined: (expr, order) => `string_agg(${expr}, ',' ORDER BY ${order})`,
  leafHex: (text) => `encode(sha256('\\x00'::bytea || convert_to(${text}, 'UTF8')), 'hex')`,
  keepJsonTextSql: [
    `ALTER TABLE change_events ${JSON_COLUMNS.map((c) => `ALTER COLUMN ${c} TYPE json USING ${c}::json`).join(', ')}`,
  ],
}

/** MySQL/MariaDB: MariaDB's JSON is text as written (MySQL 8's binary JSON is not: its
 * events take the full path); DATETIME(3) holds milliseconds; SHA2 on the UTF-8 bytes.
 * MariaDB's JSON_QUOTE writes `\u001F` where JSON.stringify writes `\u001f`: text with
 * such a control character takes the full path too. */
export const MYSQL_LEAF_SQL: LeafSql = {
  readDepth: 2,
  jsonString: (c) => `COALESCE(JSON_QUOTE(${c}), 'null')`,
  storedJson: (c, fallback) =>
    `CASE WHEN ${c} IS NULL THEN '${fallback}' WHEN JSON_VALID(${c}) THEN ${c} ELSE '~' END`,
  isoMillis: (c) =>
    `CONCAT('"', DATE_FORMAT(${c}, '%Y-%m-%dT%H:%i:%s.'), LPAD(FLOOR(MICROSECOND(${c}) / 1000), 3, '0'), 'Z"')`,
  concat: (parts) => `CONCAT(${parts.join(', ')})`,
  // group_concat_max_len (1 MB by default) cuts longer results: the count check then fails
  // and the range is read row by row.
  joined: (expr, order) => `GROUP_CONCAT(${expr} ORDER BY ${order} SEPARATOR ',')`,
  leafHex: (text) => `SHA2(CONCAT(X'00', CONVERT(${text} USING utf8mb4)), 256)`,
}
