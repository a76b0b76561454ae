/**
 * A virtualized list: only the rows in view (plus a few) are in the DOM, so a record with
 * 10,000 versions renders as fast as one with ten. Fixed row height; asks for more rows
 * when the end comes into view. Keyboard: ↑/↓ (and Home/End) move between rows, keeping
 * the focused control's column, scrolling rows into the DOM as needed.
 */
import type { ComponentChildren } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'

export function VirtualList<T>({
  items,
  rowHeight,
  height,
  label,
  row,
  onNearEnd,
}: {
  items: readonly T[]
  rowHeight: number
  height: number
  label: string
  row: (item: T, index: number) => ComponentChildren
  onNearEnd?: () => void
}) {
  const box = useRef<HTMLDivElement>(null)
  const [top, setTop] = useState(0)
  const overscan = 6
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan)
  const last = Math.min(items.length, Math.ceil((top + height) / rowHeight) + overscan)
  useEffect(() => {
    if (last >= items.length - overscan && onNearEnd) onNearEnd()
  }, [last, items.length])

  const onKeyDown = (e: KeyboardEvent) => {
    const moves: Record<string, (i: number) => number> = {
      ArrowDown: (i) => i + 1,
      ArrowUp: (i) => i - 1,
      Home: () => 0,
      End: () => items.length - 1,
    }
    const move = moves[e.key]
    const el = e.target as HTMLElement
    const li = el.closest<HTMLElement>('li[data-index]')
    if (move === undefined || li === null || el.tagName === 'SELECT') return
    e.preventDefault()
    const controls = [...li.querySelectorAll<HTMLElement>('input, button, a')]
    const column = Math.max(0, controls.indexOf(el))
    const target = Math.min(items.length - 1, Math.max(0, move(Number(li.dataset.index))))
    const b = box.current!
    const y = target * rowHeight
    if (y < b.scrollTop) b.scrollTop = y
    else if (y + rowHeight > b.scrollTop + height) b.scrollTop = y + rowHeight - height
    setTop(b.scrollTop)
    const focus = () =>
      b.querySelectorAll<HTMLElement>(`li[data-index="${target}"] :is(input, button, a)`)[column]?.focus()
    // A row already in the DOM takes the focus at once (a fast second key press starts from
    // it); one scrolled in is rendered first.
    if (b.querySelector(`li[data-index="${target}"]`) !== null) focus()
    else requestAnimationFrame(focus)
  }

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: key events bubble up from the rows' own controls (arrows move between rows)
    <div
      ref={box}
      class="vlist"
      style={{ height: `${height}px` }}
      onScroll={(e) => setTop(e.currentTarget.scrollTop)}
      onKeyDown={onKeyDown}
    >
      <ul
        aria-label={label}
        style={{ height: `${items.length * rowHeight}px`, position: 'relative', margin: 0, padding: 0 }}
      >
        {items.slice(first, last).map((item, i) => (
          <li
            key={first + i}
            data-index={first + i}
            aria-setsize={items.length}
            aria-posinset={first + i + 1}
            class="vrow"
            style={{
              position: 'absolute',
              top: `${(first + i) * rowHeight}px`,
              height: `${rowHeight}px`,
              left: 0,
              right: 0,
              listStyle: 'none',
            }}
          >
            {row(item, first + i)}
          </li>
        ))}
      </ul>
    </div>
  )
}
