/*
 * ring.h — a bounded single-producer, single-consumer ring of fixed-size items: how the
 * capture thread hands events to the main loop (capthread.h). Lock-free (C11 atomics):
 * the producer never waits, a full ring refuses the item and counts it as lost; the
 * consumer reads items in place, in the order they were pushed, and releases them.
 *
 * Exactly one thread may call the producer's functions (ring_push) and exactly one the
 * consumer's (ring_peek, ring_release) at a time; ring_backlog, ring_lost and ring_pushed
 * may be called from either. The capacity is a power of two, fixed at ring_new.
 */
#ifndef RW_RING_H
#define RW_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring;

/* A ring of at least capacity items (rounded up to a power of two, >= 2) of size bytes
 * each. NULL when out of memory or capacity/size is 0 or absurd. */
struct ring *ring_new(size_t capacity, size_t size);
/* NULL-safe. Neither thread may use the ring any more. */
void ring_free(struct ring *r);
/* Producer: copies item in. 0, or -1 when the ring is full (the item is counted lost). */
int ring_push(struct ring *r, const void *item);
/* Consumer: the oldest items, contiguous in memory: *n of them (0: empty), at most max.
 * They stay valid until ring_release. */
const void *ring_peek(struct ring *r, size_t max, size_t *n);
/* Consumer: frees the n oldest items (n <= what ring_peek returned). */
void ring_release(struct ring *r, size_t n);
/* Items in the ring now (a snapshot: the other thread may be moving it). */
size_t ring_backlog(const struct ring *r);
size_t ring_capacity(const struct ring *r);
/* Items refused because the ring was full, and items accepted, since ring_new. */
uint64_t ring_lost(const struct ring *r);
uint64_t ring_pushed(const struct ring *r);

#endif
