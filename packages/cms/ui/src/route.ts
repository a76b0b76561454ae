/** Hash routes (`#/record/entries/01J…`): the server serves the same page for every path. */
import { useEffect, useState } from 'preact/hooks'

export function currentRoute(): string[] {
  const hash = location.hash.replace(/^#\/?/, '')
  return hash === '' ? ['activity'] : hash.split('/').map(decodeURIComponent)
}

export function useRoute(): string[] {
  const [route, setRoute] = useState(currentRoute)
  useEffect(() => {
    const on = () => setRoute(currentRoute())
    window.addEventListener('hashchange', on)
    return () => window.removeEventListener('hashchange', on)
  }, [])
  return route
}

export const href = (...parts: string[]): string => `#/${parts.map(encodeURIComponent).join('/')}`
export const go = (...parts: string[]): void => {
  location.hash = href(...parts)
}
