/*
 * chunk.h — index arithmetic for record arrays that grow by chunks of doubling size (64,
 * 128, 256, ... records). Records never move, so pointers to them stay valid; a small
 * table costs a few kilobytes; a large one leaves at most its last chunk partly unused,
 * and pages never touched are never resident. Header-only: it is on the packet path.
 */
#ifndef RW_CHUNK_H
#define RW_CHUNK_H

#include <stdint.h>

#define CHUNK_SHIFT	6
#define CHUNK_MAX	27	/* enough chunks for 2^32 records */

/* The chunk holding record id. */
static inline unsigned
chunk_of(uint32_t id)
{
	return 31u - (unsigned)__builtin_clz((id >> CHUNK_SHIFT) + 1);
}

/* The id of chunk c's first record. */
static inline uint32_t
chunk_first(unsigned c)
{
	return ((1u << c) - 1) << CHUNK_SHIFT;
}

/* Records in chunk c. */
static inline uint32_t
chunk_len(unsigned c)
{
	return (uint32_t)1 << (c + CHUNK_SHIFT);
}

#endif
