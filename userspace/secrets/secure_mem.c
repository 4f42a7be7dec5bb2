// SPDX-License-Identifier: GPL-2.0-only
/*
 * Locked memory for anything that may hold a real value: never swapped, wiped on free.
 *
 * The proxy's header path takes a few small buffers per request (a matcher stream and an output
 * buffer per field), and an mlock() per buffer costs a system call that splits and merges VMAs:
 * a quarter of the proxy's CPU on keep-alive requests (docs/benchmarks.md). So each thread keeps
 * the blocks it frees, wiped and still locked, in power-of-two size classes and hands them out
 * again. Nothing is ever munlock()ed: an mlock covers whole pages, and unlocking one buffer's
 * page would also unlock another live buffer on it; heap pages simply stay locked, and blocks
 * big enough for malloc to mmap lose their lock when free() unmaps them. mlock may fail under
 * RLIMIT_MEMLOCK: best effort, as before.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include <openssl/crypto.h>

#include "secrets/internal.h"

#define MIN_SHIFT 6    /* 64-byte blocks */
#define MAX_SHIFT 16   /* up to 64 KiB is cached; larger blocks go back to malloc */
#define N_CLASSES (MAX_SHIFT - MIN_SHIFT + 1)
#define KEEP 8         /* blocks kept per class and thread */

struct free_block {
	struct free_block *next;
};

static __thread struct {
	struct free_block *head;
	unsigned n;
} cache[N_CLASSES];

/* The class of an n-byte request, or -1 when it is too big to cache. */
static int size_class(size_t n)
{
	int k = 0;

	while (k < N_CLASSES && ((size_t)1 << (MIN_SHIFT + k)) < n)
		k++;
	return k < N_CLASSES ? k : -1;
}

void *secure_alloc(size_t n)
{
	int k = size_class(n ? n : 1);
	size_t size = k < 0 ? n : (size_t)1 << (MIN_SHIFT + k);
	void *p;

	if (k >= 0 && cache[k].head) {
		struct free_block *b = cache[k].head;

		cache[k].head = b->next;
		cache[k].n--;
		b->next = NULL;  /* the block is all zero again, as calloc gave it */
		return b;
	}
	p = calloc(1, size);
	if (p)
		(void)mlock(p, size);
	return p;
}

void secure_free(void *p, size_t n)
{
	int k = size_class(n ? n : 1);

	if (!p)
		return;
	if (k < 0) {
		OPENSSL_cleanse(p, n);
		free(p);
		return;
	}
	/* The whole block: a cached block is all zero, whatever size used it before. */
	OPENSSL_cleanse(p, (size_t)1 << (MIN_SHIFT + k));
	if (cache[k].n < KEEP) {
		struct free_block *b = p;

		b->next = cache[k].head;
		cache[k].head = b;
		cache[k].n++;
		return;
	}
	free(p);
}
