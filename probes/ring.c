/*
 * ring.c — the SPSC ring. Owns its slots. The producer owns `head` (the next slot to
 * write) and the consumer `tail` (the next slot to read); each publishes its index with a
 * release store and reads the other's with an acquire load, so an item's bytes are written
 * before the consumer can see its slot, and read before the producer may reuse it. Each
 * side keeps a cached copy of the other's index and reloads it only when the cache says
 * full (producer) or empty (consumer): one shared cache line read per batch, not per item.
 * The indexes count items forever (64 bits: no wrap in practice); slot = index & mask.
 * Never blocks, never allocates after ring_new.
 */
#include "ring.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define LINE 64		/* a cache line: the two sides' indexes never share one */

struct ring {
	/* written by the producer */
	alignas(LINE) _Atomic uint64_t head;
	uint64_t tail_cache;		/* producer's last view of tail */
	_Atomic uint64_t lost;
	/* written by the consumer */
	alignas(LINE) _Atomic uint64_t tail;
	uint64_t head_cache;		/* consumer's last view of head */
	/* fixed at ring_new */
	alignas(LINE) size_t mask;
	size_t size;
	unsigned char *slots;
};

struct ring *
ring_new(size_t capacity, size_t size)
{
	struct ring *r;
	size_t cap = 2;

	if (capacity == 0 || size == 0 || capacity > ((size_t)1 << 32) || size > 4096)
		return NULL;
	while (cap < capacity)
		cap <<= 1;
	if ((r = aligned_alloc(LINE, sizeof *r)) == NULL)
		return NULL;
	memset(r, 0, sizeof *r);
	/* a multiple of the line so the slots array ends on a line too */
	if ((r->slots = aligned_alloc(LINE, (cap * size + LINE - 1) / LINE * LINE)) == NULL) {
		free(r);
		return NULL;
	}
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->lost, 0);
	r->mask = cap - 1;
	r->size = size;
	return r;
}

void
ring_free(struct ring *r)
{
	if (r == NULL)
		return;
	free(r->slots);
	free(r);
}

int
ring_push(struct ring *r, const void *item)
{
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);

	if (h - r->tail_cache > r->mask) {
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (h - r->tail_cache > r->mask) {
			/* only the producer writes lost: a plain read-add-store is enough */
			atomic_store_explicit(&r->lost, atomic_load_explicit(&r->lost,
			    memory_order_relaxed) + 1, memory_order_relaxed);
			return -1;
		}
	}
	memcpy(r->slots + (h & r->mask) * r->size, item, r->size);
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return 0;
}

const void *
ring_peek(struct ring *r, size_t max, size_t *n)
{
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed), avail;
	size_t slot = (size_t)(t & r->mask), run;

	if (r->head_cache == t)
		r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
	avail = r->head_cache - t;
	run = r->mask + 1 - slot;	/* up to the end of the array: contiguous */
	if (avail < run)
		run = (size_t)avail;
	if (max < run)
		run = max;
	*n = run;
	return run ? r->slots + slot * r->size : NULL;
}

void
ring_release(struct ring *r, size_t n)
{
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);

	atomic_store_explicit(&r->tail, t + n, memory_order_release);
}

size_t
ring_backlog(const struct ring *r)
{
	/* tail first: head only grows, so the difference never goes negative */
	uint64_t t = atomic_load_explicit(&((struct ring *)r)->tail, memory_order_acquire);
	uint64_t h = atomic_load_explicit(&((struct ring *)r)->head, memory_order_acquire);

	return (size_t)(h - t);
}

size_t
ring_capacity(const struct ring *r)
{
	return r->mask + 1;
}

uint64_t
ring_lost(const struct ring *r)
{
	return atomic_load_explicit(&((struct ring *)r)->lost, memory_order_relaxed);
}

uint64_t
ring_pushed(const struct ring *r)
{
	return atomic_load_explicit(&((struct ring *)r)->head, memory_order_relaxed);
}
