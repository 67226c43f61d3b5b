package throttle

import "container/list"

// LRU is a map bounded to a number of entries that evicts the least
// recently used. Not safe for concurrent use.
type LRU[K comparable, V any] struct {
	max   int
	order list.List // of *lruEntry[K, V], most recent first
	items map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key K
	val V
}

// NewLRU returns an empty map of at most max entries.
func NewLRU[K comparable, V any](max int) *LRU[K, V] {
	return &LRU[K, V]{max: max, items: make(map[K]*list.Element)}
}

// Get returns k's value, and makes it the most recently used.
func (c *LRU[K, V]) Get(k K) (V, bool) {
	e, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry[K, V]).val, true
}

// Put sets k's value, evicting the least recently used entry if the map
// is full.
func (c *LRU[K, V]) Put(k K, v V) {
	if e, ok := c.items[k]; ok {
		e.Value.(*lruEntry[K, V]).val = v
		c.order.MoveToFront(e)
		return
	}
	if c.order.Len() >= c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry[K, V]).key)
	}
	c.items[k] = c.order.PushFront(&lruEntry[K, V]{key: k, val: v})
}

// Len returns the number of entries.
func (c *LRU[K, V]) Len() int { return c.order.Len() }
