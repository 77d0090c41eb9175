/* A per-device cache of large freed host blocks (cpu_block_cache.c), so
 * that a training step's activations reuse the previous step's memory
 * instead of mapping fresh zeroed pages (glibc returns blocks this large to
 * the system on free). */
#pragma once
#include <glib.h>

typedef struct AgfCpuBlockCache AgfCpuBlockCache;

AgfCpuBlockCache *agf_cpu_block_cache_new(void);
/* Frees every cached block; blocks still handed out stay the caller's. */
void agf_cpu_block_cache_free(AgfCpuBlockCache *c);

/* A 64-byte aligned block of at least nbytes (64 for 0), or NULL when out
 * of memory. */
void *agf_cpu_block_get(AgfCpuBlockCache *c, size_t nbytes);
/* Gives back a block of agf_cpu_block_get(c, nbytes): kept for reuse, or
 * freed when small or when the cache would outgrow limit bytes (the oldest
 * cached blocks go first). */
void agf_cpu_block_put(AgfCpuBlockCache *c, void *p, size_t nbytes,
                       size_t limit);
/* Bytes held in the cache (not handed out). */
size_t agf_cpu_block_cached(AgfCpuBlockCache *c);
