/* Host block cache (cpu_block_cache.h). Blocks of 128 KiB and more (glibc's
 * mmap threshold: such frees unmap, and the next allocation faults in and
 * zeroes every page again: 150k+ page faults a small ViT training run) are
 * rounded up to a size class (within 1/8 of the size) and, on release, kept
 * in a list for the next request of the same class. Shapes repeat from
 * step to step, so a training loop reaches a steady state where nothing is
 * mapped anymore. Locked: tensors may be freed from another thread. */
#include <stdlib.h>
#include "cpu/cpu_block_cache.h"

#define MIN_CACHED ((size_t) 128 << 10)
#define ALIGN 64

typedef struct {
  void *p;
  size_t size; /* its size class */
} Block;

struct AgfCpuBlockCache {
  GMutex lock;
  GArray *blocks; /* Block, oldest first */
  size_t cached;  /* bytes in blocks */
};

/* nbytes rounded up to a multiple of 64 and, from MIN_CACHED on, to a
 * multiple of an eighth of its power of two; 0 when that overflows. */
static size_t
size_class(size_t nbytes)
{
  if (nbytes > G_MAXSIZE / 2)
    return 0;
  size_t n = (nbytes + ALIGN - 1) & ~(size_t) (ALIGN - 1);
  if (n < MIN_CACHED)
    return n ? n : ALIGN;
  size_t pow2 = MIN_CACHED;
  while (pow2 * 2 <= n)
    pow2 *= 2;
  const size_t step = pow2 / 8;
  return (n + step - 1) / step * step;
}

AgfCpuBlockCache *
agf_cpu_block_cache_new(void)
{
  AgfCpuBlockCache *c = g_new0(AgfCpuBlockCache, 1);
  g_mutex_init(&c->lock);
  c->blocks = g_array_new(FALSE, FALSE, sizeof(Block));
  return c;
}

void
agf_cpu_block_cache_free(AgfCpuBlockCache *c)
{
  if (c == NULL)
    return;
  for (guint i = 0; i < c->blocks->len; i++)
    free(g_array_index(c->blocks, Block, i).p);
  g_array_unref(c->blocks);
  g_mutex_clear(&c->lock);
  g_free(c);
}

void *
agf_cpu_block_get(AgfCpuBlockCache *c, size_t nbytes)
{
  const size_t size = size_class(nbytes);
  if (size == 0)
    return NULL;
  if (size >= MIN_CACHED) {
    g_mutex_lock(&c->lock);
    /* Newest first: the block most likely still in cache and mapped. */
    for (guint i = c->blocks->len; i-- > 0;) {
      Block b = g_array_index(c->blocks, Block, i);
      if (b.size == size) {
        g_array_remove_index(c->blocks, i);
        c->cached -= size;
        g_mutex_unlock(&c->lock);
        return b.p;
      }
    }
    g_mutex_unlock(&c->lock);
  }
  return aligned_alloc(ALIGN, size);
}

void
agf_cpu_block_put(AgfCpuBlockCache *c, void *p, size_t nbytes, size_t limit)
{
  const size_t size = size_class(nbytes);
  if (p == NULL)
    return;
  if (size < MIN_CACHED || size > limit) {
    free(p);
    return;
  }
  g_mutex_lock(&c->lock);
  guint drop = 0;
  size_t freed = 0;
  while (c->cached - freed + size > limit) {
    free(g_array_index(c->blocks, Block, drop).p);
    freed += g_array_index(c->blocks, Block, drop).size;
    drop++;
  }
  if (drop)
    g_array_remove_range(c->blocks, 0, drop);
  c->cached -= freed;
  Block b = { p, size };
  g_array_append_val(c->blocks, b);
  c->cached += size;
  g_mutex_unlock(&c->lock);
}

size_t
agf_cpu_block_cached(AgfCpuBlockCache *c)
{
  g_mutex_lock(&c->lock);
  size_t n = c->cached;
  g_mutex_unlock(&c->lock);
  return n;
}
