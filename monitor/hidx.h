/*
 * hidx.h — an open-addressing hash index from a 32-bit hash to record ids (uint32), for
 * tables that keep their records elsewhere (dense, chunked arrays) and want 8 bytes per
 * slot: the slot holds the hash and id+1, so probing compares hashes without touching
 * records and growing never re-reads a key. Linear probing, at most 3/4 full, deletion by
 * backward shift (no tombstones). The probe loop is inline so a caller's equality test
 * inlines with it: this is the packet hot path.
 */
#ifndef RW_HIDX_H
#define RW_HIDX_H

#include <stddef.h>
#include <stdint.h>

struct hidx {
	uint64_t *slot;		/* hash << 32 | (id + 1); 0 = empty */
	uint32_t mask;		/* slots - 1 */
	uint32_t used;
};

#define HIDX_NONE UINT32_MAX

/* Sets up an empty index. -1 when out of memory. */
int hidx_init(struct hidx *h, uint32_t initial_slots);
void hidx_release(struct hidx *h);
/* Adds (hash, id); the caller has made sure it is not there. -1 when out of memory. */
int hidx_insert(struct hidx *h, uint32_t hash, uint32_t id);
/* Removes (hash, id) when present. */
void hidx_remove(struct hidx *h, uint32_t hash, uint32_t id);
/* Bytes held. */
size_t hidx_bytes(const struct hidx *h);

/* Walks the ids stored under hash: start with *pos = hash & mask, call until HIDX_NONE. */
static inline uint32_t
hidx_next(const struct hidx *h, uint32_t hash, uint32_t *pos)
{
	uint64_t s;

	while ((s = h->slot[*pos]) != 0) {
		*pos = (*pos + 1) & h->mask;
		if ((uint32_t)(s >> 32) == hash)
			return (uint32_t)s - 1;
	}
	return HIDX_NONE;
}

#endif
