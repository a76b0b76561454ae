/**
 * Where the sealer's leaf worker runs by default: only where it gets a core of its own —
 * the writers' event loop takes one, a database server on this machine another.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { serverOnThisMachine } from '../packages/audited/src/db/dialects/connect.js'
import { leafWorkerHasCore } from '../packages/audited/src/integrity/leaf-worker-client.js'

describe('the leaf worker by default', () => {
  it('knows a server on this machine from one elsewhere', () => {
    for (const url of [
      'postgres://postgres@127.0.0.1:5432/app',
      'postgresql://u:p@localhost/app',
      'postgres://u@[::1]:5432/app',
      'postgres://u@127.8.9.10/app',
      'postgres:///app?host=/var/run/postgresql',
      'postgres://u@/app?host=/tmp',
      'postgres://%2Fvar%2Frun%2Fpostgresql/app',
      'mysql://root@127.0.0.1:3306/app',
      'mysql://root@LOCALHOST/app',
      'mysql://root@x/app?socketPath=/run/mysqld/mysqld.sock',
      'postgres://u@db.internal/app?host=localhost',
      'postgres://u@db.internal/app?host=%2Fvar%2Frun%2Fpostgresql',
      'postgres://u@127.1/app',
      'postgres://u@0.0.0.0/app',
      'postgres://u@[::ffff:127.0.0.1]/app',
      'postgres://u@localhost./app',
    ])
      assert.equal(serverOnThisMachine(url), true, url)
    for (const url of [
      'sqlite:app.db',
      'sqlite::memory:',
      'postgres://u@db.internal:5432/app',
      'postgres://u@10.0.0.5/app',
      'postgres://u@128.0.0.1/app',
      'postgres://u@127.0.0.1.example.com/app',
      'postgres://u@db/app?host=relative/dir',
      'mysql://root@mariadb:3306/app',
      'not a url',
      // pg's host parameter overrides the URL's host
      'postgres://u@localhost/app?host=db.internal',
      // a parameter-looking password is no parameter
      'postgres://u:p&host=%2Fx@db.internal/app',
      'postgres://u@[::ffff:10.0.0.1]/app',
    ])
      assert.equal(serverOnThisMachine(url), false, url)
  })

  it('runs where a core is left for it', () => {
    const local = 'postgres://postgres@127.0.0.1:5432/app'
    const remote = 'postgres://u@db.internal/app'
    const cases: [string, number, boolean][] = [
      ['sqlite:app.db', 1, false],
      ['sqlite:app.db', 2, true],
      [local, 2, false],
      [local, 3, true],
      ['mysql://root@localhost/app', 2, false],
      ['mysql://root@localhost/app', 4, true],
      [remote, 1, false],
      [remote, 2, true],
    ]
    for (const [url, cores, expected] of cases)
      assert.equal(leafWorkerHasCore(url, cores), expected, `${url} on ${cores} cores`)
  })
})
