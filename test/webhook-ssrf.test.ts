/**
 * Webhook SSRF rules: URLs a webhook may not name (every literal form of a non-public address
 * the WHATWG parser normalises, local names, schemes, userinfo), addresses a delivery may not
 * reach, and resolution at attempt time (vetAddress). The block tables use an EMPTY allow list.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  checkWebhookUrl,
  isBlockedAddress,
  type LookupFn,
  parseAllowHosts,
  vetAddress,
} from '../packages/cms/src/webhooks/ssrf.js'

const NONE = parseAllowHosts(undefined)

/** [url, reason]: each must be refused with exactly that reason. */
const REFUSED: ReadonlyArray<readonly [string, string]> = [
  // IPv4 loopback in every form the URL parser turns into 127.0.0.1
  ['http://127.0.0.1/', 'blocked_address'],
  ['http://127.0.0.1./', 'blocked_address'],
  ['http://127.1/', 'blocked_address'],
  ['http://2130706433/', 'blocked_address'],
  ['http://0x7f.1/', 'blocked_address'],
  ['http://0x7f000001/', 'blocked_address'],
  ['http://017700000001/', 'blocked_address'],
  ['http://0177.0.0.1/', 'blocked_address'],
  ['http://%31%32%37.0.0.1/', 'blocked_address'],
  ['http://①②⑦.0.0.1/', 'blocked_address'],
  ['http://127.255.255.254:8080/x', 'blocked_address'],
  // unspecified, private, CGNAT, link-local, metadata
  ['http://0/', 'blocked_address'],
  ['http://0.0.0.0/', 'blocked_address'],
  ['http://10.0.0.1/', 'blocked_address'],
  ['http://172.16.0.1/', 'blocked_address'],
  ['http://172.31.255.255/', 'blocked_address'],
  ['http://192.168.1.1/', 'blocked_address'],
  ['http://3232235777/', 'blocked_address'],
  ['http://0300.0250.1.1/', 'blocked_address'],
  ['http://100.64.0.1/', 'blocked_address'],
  ['http://100.100.100.200/', 'blocked_address'],
  ['http://169.254.169.254/latest/meta-data/', 'blocked_address'],
  ['http://169.254.0.1/', 'blocked_address'],
  // multicast, broadcast, reserved, documentation, benchmarking
  ['http://224.0.0.1/', 'blocked_address'],
  ['http://239.255.255.250/', 'blocked_address'],
  ['http://255.255.255.255/', 'blocked_address'],
  ['http://240.0.0.1/', 'blocked_address'],
  ['http://192.0.0.8/', 'blocked_address'],
  ['http://192.0.2.10/', 'blocked_address'],
  ['http://198.51.100.7/', 'blocked_address'],
  ['http://203.0.113.9/', 'blocked_address'],
  ['http://198.18.0.1/', 'blocked_address'],
  // IPv6 (brackets; the parser canonicalises the spelling)
  ['http://[::1]/', 'blocked_address'],
  ['http://[0:0:0:0:0:0:0:1]:8080/', 'blocked_address'],
  ['http://[::]/', 'blocked_address'],
  ['http://[fe80::1]/', 'blocked_address'],
  ['http://[FE80::ABCD]/', 'blocked_address'],
  ['http://[fc00::1]/', 'blocked_address'],
  ['http://[fd12:3456::1]/', 'blocked_address'],
  ['http://[fd00:ec2::254]/', 'blocked_address'],
  ['http://[fec0::1]/', 'blocked_address'],
  ['http://[ff02::1]/', 'blocked_address'],
  ['http://[::ffff:127.0.0.1]/', 'blocked_address'],
  ['http://[::ffff:7f00:1]/', 'blocked_address'],
  ['http://[0:0:0:0:0:ffff:a9fe:a9fe]/', 'blocked_address'],
  ['http://[::ffff:10.1.2.3]/', 'blocked_address'],
  ['http://[::127.0.0.1]/', 'blocked_address'],
  ['http://[::ffff:0:7f00:1]/', 'blocked_address'],
  ['http://[64:ff9b::7f00:1]/', 'blocked_address'],
  ['http://[64:ff9b::a9fe:a9fe]/', 'blocked_address'],
  ['http://[64:ff9b:1::5db8:d822]/', 'blocked_address'],
  ['http://[2002:7f00:1::1]/', 'blocked_address'],
  ['http://[2002:c0a8:101::1]/', 'blocked_address'],
  ['http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'blocked_address'],
  ['http://[2001:db8::1]/', 'blocked_address'],
  ['http://[3fff::1]/', 'blocked_address'],
  ['http://[100::1]/', 'blocked_address'],
  // local names, any case, trailing dots, IDNA that maps to them
  ['http://localhost/', 'blocked_address'],
  ['http://LocalHost:3000/', 'blocked_address'],
  ['http://localhost./', 'blocked_address'],
  ['http://localhost../', 'blocked_address'],
  ['http://api.localhost/', 'blocked_address'],
  ['http://ⓛocalhost/', 'blocked_address'],
  ['http://localhost.localdomain/', 'blocked_address'],
  ['http://ip6-localhost/', 'blocked_address'],
  ['http://printer.local/', 'blocked_address'],
  ['http://metadata.google.internal/computeMetadata/v1/', 'blocked_address'],
  ['http://router.home.arpa/', 'blocked_address'],
  ['http://intranet/', 'blocked_address'],
  // a fragment or path that looks like userinfo does not change the host
  ['http://127.0.0.1:80#@example.com/', 'blocked_address'],
  // userinfo
  ['http://user:pass@example.com/', 'credentials_in_url'],
  ['https://user@example.com/hook', 'credentials_in_url'],
  ['http://example.com@127.0.0.1/', 'credentials_in_url'],
  ['http://:secret@example.com/', 'credentials_in_url'],
  // schemes
  ['ftp://example.com/', 'blocked_scheme'],
  ['file:///etc/passwd', 'blocked_scheme'],
  ['javascript:alert(1)', 'blocked_scheme'],
  ['data:text/plain,hello', 'blocked_scheme'],
  ['gopher://example.com:70/', 'blocked_scheme'],
  ['ws://example.com/', 'blocked_scheme'],
  // not URLs at all, out-of-range literals, zone ids (the URL standard has none)
  ['example.com/hook', 'invalid_url'],
  ['http://', 'invalid_url'],
  ['http://exa mple.com/', 'invalid_url'],
  ['http://256.0.0.1/', 'invalid_url'],
  ['http://4294967296/', 'invalid_url'],
  ['http://[fe80::1%25eth0]/', 'invalid_url'],
  ['http://[::1/', 'invalid_url'],
  [`https://example.com/${'a'.repeat(2100)}`, 'invalid_url'],
]

const ACCEPTED: readonly string[] = [
  'https://93.184.216.34/',
  'http://93.184.216.34:8080/hooks?x=1',
  'https://[2606:4700::1111]/',
  'https://[2606:4700:4700::1111]:8443/h',
  'HTTPS://Hooks.Example.COM/In',
  'https://example.com./hook',
  'https://[::ffff:93.184.216.34]/',
  'https://[64:ff9b::5db8:d822]/',
  'https://[2002:5db8:d822::1]/',
  'https://8.8.8.8/',
  'https://1.1.1.1/',
]

describe('checkWebhookUrl', () => {
  it(`refuses ${REFUSED.length} adversarial URLs, each for its reason`, () => {
    assert.ok(REFUSED.length >= 40)
    for (const [url, reason] of REFUSED) {
      const r = checkWebhookUrl(url, NONE)
      assert.ok('reason' in r, `${url} must be refused, got ${'url' in r ? r.url.href : ''}`)
      assert.equal(r.reason, reason, `${url}: ${r.message}`)
      assert.ok(r.message.length > 0)
    }
  })

  it('accepts public addresses and names (names are resolved at attempt time, not here)', () => {
    for (const url of ACCEPTED) {
      const r = checkWebhookUrl(url, NONE)
      assert.ok('url' in r, `${url}: ${'message' in r ? r.message : ''}`)
    }
  })

  it('the WHATWG parser normalises numeric IPv4 forms before the check sees the host', () => {
    for (const raw of ['http://2130706433/', 'http://0x7f.1/', 'http://017700000001/', 'http://127.1/']) {
      assert.equal(new URL(raw).hostname, '127.0.0.1', raw)
    }
    assert.equal(new URL('http://[::ffff:127.0.0.1]/').hostname, '[::ffff:7f00:1]')
  })

  it('a host in WEBHOOK_ALLOW_HOSTS skips the address check, by name or by literal', () => {
    const policy = parseAllowHosts(' LocalHost. , 127.0.0.1,, [0:0::1] ,Receiver.Test ')
    assert.deepEqual([...policy.allowHosts].sort(), ['127.0.0.1', '::1', 'localhost', 'receiver.test'])
    for (const url of [
      'http://localhost:8080/',
      'http://127.0.0.1:9/',
      'http://[::1]/',
      'http://receiver.test/',
    ]) {
      assert.ok('url' in checkWebhookUrl(url, policy), url)
    }
    // only the listed host: its neighbours and subdomains are still blocked
    for (const url of ['http://127.0.0.2/', 'http://api.localhost/', 'http://10.0.0.1/']) {
      assert.ok('reason' in checkWebhookUrl(url, policy), url)
    }
    // the allow list never lets credentials or other schemes through
    assert.equal(
      (checkWebhookUrl('http://u:p@127.0.0.1/', policy) as { reason: string }).reason,
      'credentials_in_url',
    )
    assert.equal((checkWebhookUrl('ftp://127.0.0.1/', policy) as { reason: string }).reason, 'blocked_scheme')
  })
})

describe('isBlockedAddress', () => {
  const BLOCKED = [
    '127.0.0.1',
    '10.255.255.255',
    '172.20.1.1',
    '192.168.0.1',
    '169.254.169.254',
    '100.64.0.0',
    '100.127.255.255',
    '0.0.0.0',
    '0.1.2.3',
    '255.255.255.255',
    '224.0.0.251',
    '::',
    '::1',
    'fe80::1',
    'fe80::1%eth0',
    'fd00:ec2::254',
    'fc00::',
    'ff02::fb',
    '::ffff:192.168.1.1',
    '::ffff:169.254.169.254',
    '64:ff9b::c0a8:101',
    '2002:a00:1::',
    '2001::1',
    '2001:db8:85a3::8a2e:370:7334',
    '[::1]',
    '',
    'not-an-ip',
    '127.1',
    '1.2.3.4.5',
  ]
  const PUBLIC = ['93.184.216.34', '8.8.8.8', '100.128.0.1', '172.32.0.1', '2606:4700::1111', '2a00:1450::1']

  it('blocks everything that is not global unicast, and anything it cannot parse', () => {
    for (const ip of BLOCKED) assert.equal(isBlockedAddress(ip), true, ip)
  })

  it('lets global unicast through (the edges of the private ranges included)', () => {
    for (const ip of PUBLIC) assert.equal(isBlockedAddress(ip), false, ip)
  })
})

/** A lookup that answers from a table and counts its calls. */
function fakeDns(answers: Record<string, readonly string[]>): LookupFn & { calls: string[] } {
  const calls: string[] = []
  const fn = async (hostname: string) => {
    calls.push(hostname)
    const list = answers[hostname]
    if (list === undefined)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
  return Object.assign(fn, { calls })
}

async function refusal(
  p: Promise<unknown>,
): Promise<{ code: string; details: Record<string, unknown>; message: string }> {
  return (await p.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  )) as { code: string; details: Record<string, unknown>; message: string }
}

describe('vetAddress', () => {
  it('a name resolving to a private address is blocked, and the error does not reveal the address', async () => {
    const dns = fakeDns({ 'hooks.example.com': ['10.0.0.7'] })
    const e = await refusal(vetAddress('hooks.example.com', NONE, dns))
    assert.equal(e.code, 'validation')
    assert.equal(e.details.reason, 'blocked_address')
    assert.ok(!e.message.includes('10.0.0.7') && !JSON.stringify(e.details).includes('10.0.0.7'))
    assert.deepEqual(dns.calls, ['hooks.example.com'])
  })

  it('one blocked answer among public ones blocks the host, whatever the order', async () => {
    for (const list of [
      ['93.184.216.34', '127.0.0.1'],
      ['::1', '2606:4700::1111'],
      ['93.184.216.34', '::ffff:169.254.169.254'],
    ]) {
      const e = await refusal(vetAddress('mixed.example.com', NONE, fakeDns({ 'mixed.example.com': list })))
      assert.equal(e.details.reason, 'blocked_address', list.join(','))
    }
  })

  it('public answers pass; the first is the one to connect to', async () => {
    const dns = fakeDns({ 'ok.example.com': ['2606:4700::1111', '93.184.216.34'] })
    assert.deepEqual(await vetAddress('ok.example.com', NONE, dns), { address: '2606:4700::1111', family: 6 })
  })

  it('a literal is checked without any lookup; brackets are accepted', async () => {
    const never: LookupFn = () => assert.fail('no lookup for a literal')
    assert.deepEqual(await vetAddress('93.184.216.34', NONE, never), { address: '93.184.216.34', family: 4 })
    assert.deepEqual(await vetAddress('[2606:4700::1111]', NONE, never), {
      address: '2606:4700::1111',
      family: 6,
    })
    assert.equal((await refusal(vetAddress('[::1]', NONE, never))).details.reason, 'blocked_address')
    assert.equal((await refusal(vetAddress('localhost', NONE, never))).details.reason, 'blocked_address')
  })

  it('resolution failures are unavailable / dns_failure (no answer, an empty answer, a bad answer)', async () => {
    const dns = fakeDns({ 'empty.example.com': [], 'junk.example.com': ['93.184.216.34', 'not-an-ip'] })
    for (const host of ['missing.example.com', 'empty.example.com', 'junk.example.com']) {
      const e = await refusal(vetAddress(host, NONE, dns))
      assert.equal(e.code, 'unavailable', host)
      assert.equal(e.details.reason, 'dns_failure', host)
    }
  })

  it('an allowed name skips the check; an allowed literal also admits a name resolving only to it', async () => {
    const dns = fakeDns({ 'receiver.test': ['127.0.0.1'], 'both.test': ['127.0.0.1', '127.0.0.2'] })
    assert.equal(
      (await vetAddress('Receiver.Test.', parseAllowHosts('receiver.test'), dns)).address,
      '127.0.0.1',
    )
    const byAddress = parseAllowHosts('127.0.0.1')
    assert.equal((await vetAddress('receiver.test', byAddress, dns)).address, '127.0.0.1')
    assert.equal((await refusal(vetAddress('both.test', byAddress, dns))).details.reason, 'blocked_address')
  })

  it('the default lookup is the system resolver (localhost from the hosts file, allowed by name)', async () => {
    const r = await vetAddress('localhost', parseAllowHosts('localhost'))
    assert.ok(r.address === '127.0.0.1' || r.address === '::1', r.address)
    assert.equal(r.family, r.address === '::1' ? 6 : 4)
  })
})
