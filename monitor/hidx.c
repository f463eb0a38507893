/*
 * hidx.c — growing and shrinking the hash index of hidx.h. Owns the slot array only.
 */
#include "hidx.h"

#include <stdlib.h>

int
hidx_init(struct hidx *h, uint32_t n)
{
	uint32_t size = 16;

	while (size < n)
		size <<= 1;
	h->slot = calloc(size, sizeof *h->slot);
	h->mask = size - 1;
	h->used = 0;
	return h->slot ? 0 : -1;
}

void
hidx_release(struct hidx *h)
{
	free(h->slot);
	h->slot = NULL;
	h->mask = h->used = 0;
}

static void
place(uint64_t *slot, uint32_t mask, uint64_t s)
{
	uint32_t i = (uint32_t)(s >> 32) & mask;

	while (slot[i] != 0)
		i = (i + 1) & mask;
	slot[i] = s;
}

int
hidx_insert(struct hidx *h, uint32_t hash, uint32_t id)
{
	uint64_t *ns;
	uint32_t i, nmask;

	if ((uint64_t)(h->used + 1) * 4 > (uint64_t)(h->mask + 1) * 3) {
		if (h->mask >= 0x7fffffffu)
			return -1;
		nmask = h->mask * 2 + 1;
		if ((ns = calloc((size_t)nmask + 1, sizeof *ns)) == NULL)
			return -1;
		for (i = 0; i <= h->mask; i++)
			if (h->slot[i])
				place(ns, nmask, h->slot[i]);
		free(h->slot);
		h->slot = ns;
		h->mask = nmask;
	}
	place(h->slot, h->mask, (uint64_t)hash << 32 | ((uint64_t)id + 1));
	h->used++;
	return 0;
}

void
hidx_remove(struct hidx *h, uint32_t hash, uint32_t id)
{
	uint64_t want = (uint64_t)hash << 32 | ((uint64_t)id + 1);
	uint32_t i = hash & h->mask, j, home;

	while (h->slot[i] != want) {
		if (h->slot[i] == 0)
			return;
		i = (i + 1) & h->mask;
	}
	/* backward shift: pull later members of the run into the hole when their home allows */
	j = i;
	for (;;) {
		h->slot[i] = 0;
		for (;;) {
			j = (j + 1) & h->mask;
			if (h->slot[j] == 0) {
				h->used--;
				return;
			}
			home = (uint32_t)(h->slot[j] >> 32) & h->mask;
			/* can slot j's entry move to i? only when home is not cyclically in (i, j] */
			if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
				break;
		}
		h->slot[i] = h->slot[j];
		i = j;
	}
}

size_t
hidx_bytes(const struct hidx *h)
{
	return ((size_t)h->mask + 1) * sizeof *h->slot;
}
