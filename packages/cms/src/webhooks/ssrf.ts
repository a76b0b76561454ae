/**
 * Webhook address vetting (server-side request forgery): which URLs a webhook may name and
 * which addresses a delivery may connect to. A URL is checked when it is saved
 * (`checkWebhookUrl`: scheme, userinfo, a literal address, local names); its host name is
 * resolved only at attempt time (`vetAddress`), once, and the delivery connects to exactly the
 * address vetted there (outbound.ts), so a DNS answer that changes between the check and the
 * connection (rebinding) cannot reach a private address.
 *
 * Only global unicast is allowed; everything else (loopback, private, link-local, CGNAT,
 * multicast, reserved, documentation, unique-local, cloud metadata, and IPv6 forms that carry
 * such an IPv4 address inside) is blocked, unless the operator lists the host in
 * `WEBHOOK_ALLOW_HOSTS` (`parseAllowHosts`).
 */
import { promises as dns } from 'node:dns'
import { isIP } from 'node:net'
import { AuditedError } from 'audited'
import ipaddr from 'ipaddr.js'

export interface HostPolicy {
  /** Lower-case host names without trailing dots, and IP literals in canonical form. */
  readonly allowHosts: ReadonlySet<string>
}

export type UrlRefusal = 'invalid_url' | 'blocked_scheme' | 'blocked_address' | 'credentials_in_url'

export type UrlCheck = { url: URL } | { reason: UrlRefusal; message: string }

/** A resolver with the shape of `dns.promises.lookup(name, { all: true })`; injectable for tests. */
export type LookupFn = (
  hostname: string,
  options: { all: true },
) => Promise<ReadonlyArray<{ address: string; family: number }>>

/** The longest webhook URL accepted. */
export const MAX_WEBHOOK_URL_LENGTH = 2048

const defaultLookup: LookupFn = (hostname, options) => dns.lookup(hostname, options)

/** `WEBHOOK_ALLOW_HOSTS`: comma-separated host names or IP literals; case and blanks do not matter. */
export function parseAllowHosts(env: string | undefined): HostPolicy {
  const allowHosts = new Set<string>()
  for (const part of (env ?? '').split(',')) {
    const host = normaliseHost(part.trim())
    if (host !== '') allowHosts.add(host)
  }
  return { allowHosts }
}

/** The URL if a webhook may name it, else why not. No DNS here: names are resolved at attempt time. */
export function checkWebhookUrl(raw: string, policy: HostPolicy): UrlCheck {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) {
    return { reason: 'invalid_url', message: `The URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters.` }
  }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { reason: 'invalid_url', message: 'The URL is not a valid absolute URL.' }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { reason: 'blocked_scheme', message: 'Only http and https URLs are allowed.' }
  }
  if (url.username !== '' || url.password !== '') {
    return { reason: 'credentials_in_url', message: 'The URL must not carry a user name or password.' }
  }
  const host = normaliseHost(url.hostname)
  if (host === '') return { reason: 'invalid_url', message: 'The URL has no host.' }
  if (isAllowed(host, policy)) return { url }
  if (isIP(host) !== 0) {
    if (isBlockedAddress(host)) {
      return { reason: 'blocked_address', message: 'The URL names a private, local or reserved address.' }
    }
    return { url }
  }
  if (isLocalName(host)) {
    return { reason: 'blocked_address', message: 'The URL names a local host.' }
  }
  return { url }
}

/**
 * Resolves `hostname` once and returns the address to connect to. Throws `validation`
 * (`blocked_address`) when any answer is not global unicast (an allowed host skips that), or
 * `unavailable` (`dns_failure`) when it does not resolve. The address is deliberately not in
 * the error: it would let a webhook owner map internal DNS.
 */
export async function vetAddress(
  hostname: string,
  policy: HostPolicy,
  lookup: LookupFn = defaultLookup,
): Promise<{ address: string; family: 4 | 6 }> {
  const host = normaliseHost(hostname)
  const allowedName = isAllowed(host, policy)
  const literal = isIP(host)
  if (literal !== 0) {
    if (!allowedName && isBlockedAddress(host)) throw blocked(host)
    return { address: host, family: literal === 6 ? 6 : 4 }
  }
  if (host === '' || (!allowedName && isLocalName(host))) throw blocked(host)
  let answers: ReadonlyArray<{ address: string; family: number }>
  try {
    answers = await lookup(host, { all: true })
  } catch (e) {
    throw dnsFailure(host, e)
  }
  const usable = answers.filter((a) => isIP(a.address) !== 0)
  if (usable.length === 0 || usable.length !== answers.length) throw dnsFailure(host, undefined)
  if (!allowedName) {
    for (const a of usable) {
      if (isBlockedAddress(a.address) && !policy.allowHosts.has(canonicalAddress(a.address))) {
        throw blocked(host)
      }
    }
  }
  const first = usable[0]!
  return { address: first.address, family: isIP(first.address) === 6 ? 6 : 4 }
}

/** True unless `ip` is a global unicast address. Anything unparsable, or with a zone id, is blocked. */
export function isBlockedAddress(ip: string): boolean {
  const text = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip
  if (isIP(text) === 0) return true
  let addr: ipaddr.IPv4 | ipaddr.IPv6
  try {
    addr = ipaddr.parse(text)
  } catch {
    return true
  }
  return addr.kind() === 'ipv4' ? blockedV4(addr as ipaddr.IPv4) : blockedV6(addr as ipaddr.IPv6)
}

function blockedV4(addr: ipaddr.IPv4): boolean {
  // ipaddr.js names every special-purpose IPv4 range (RFC 6890: 0/8, 10/8, 100.64/10,
  // 127/8, 169.254/16 with the metadata address, 172.16/12, 192.0.0/24, the documentation
  // ranges, 192.168/16, 198.18/15, multicast, 240/4, broadcast); only 'unicast' is global.
  return addr.range() !== 'unicast'
}

/** The IPv4 address inside an IPv6 one that carries one (mapped, NAT64, 6to4), if any. */
function embeddedV4(addr: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = addr.parts
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff])
  if (addr.isIPv4MappedAddress()) return addr.toIPv4Address()
  // 64:ff9b::/96, the well-known NAT64 prefix: the last 32 bits are the IPv4 destination.
  if (p[0] === 0x64 && p[1] === 0xff9b && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0) {
    return v4(p[6]!, p[7]!)
  }
  // 2002::/16, 6to4: bits 16–48 are the IPv4 address of the relay.
  if (p[0] === 0x2002) return v4(p[1]!, p[2]!)
  return undefined
}

function blockedV6(addr: ipaddr.IPv6): boolean {
  if (addr.zoneId !== undefined) return true
  const v4 = embeddedV4(addr)
  if (v4 !== undefined) return blockedV4(v4)
  // Global unicast is 2000::/3. Outside it: ::/128, ::1, the deprecated IPv4-compatible
  // ::/96, IPv4-translated ::ffff:0:0:0/96, 64:ff9b:1::/48, discard 100::/64, unique-local
  // fc00::/7 (fd00:ec2::254 among them), link-local fe80::/10, site-local, multicast ff00::/8.
  if (addr.parts[0]! >> 13 !== 0b001) return true
  // Inside it, ipaddr.js names the special ranges: 2001::/23 (Teredo, benchmarking, ORCHID,
  // …), documentation 2001:db8::/32 and 3fff::/20, AS112.
  return addr.range() !== 'unicast'
}

/** Lower case, no brackets, no trailing dots; an IP literal in canonical form. */
function normaliseHost(raw: string): string {
  let host = raw.toLowerCase()
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  host = host.replace(/\.+$/, '')
  return isIP(host) !== 0 ? canonicalAddress(host) : host
}

function canonicalAddress(ip: string): string {
  try {
    return ipaddr.parse(ip).toString()
  } catch {
    return ip
  }
}

function isAllowed(host: string, policy: HostPolicy): boolean {
  return policy.allowHosts.has(host)
}

/**
 * Names that only ever mean this machine or the local network: `localhost` and its
 * subdomains (RFC 6761), `.localdomain`, mDNS `.local`, `.internal` (private use, cloud
 * metadata names) and `.home.arpa`; and single-label names (`ip6-localhost`, `metadata`, an
 * intranet name), which resolvers expand with local search domains.
 */
function isLocalName(host: string): boolean {
  if (!host.includes('.')) return true
  return /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/.test(host)
}

function blocked(host: string): AuditedError {
  return new AuditedError('validation', `The webhook host ${host} is a blocked address.`, {
    details: { reason: 'blocked_address', host },
  })
}

function dnsFailure(host: string, cause: unknown): AuditedError {
  return new AuditedError('unavailable', `The webhook host ${host} could not be resolved.`, {
    details: { reason: 'dns_failure', host },
    cause,
  })
}
