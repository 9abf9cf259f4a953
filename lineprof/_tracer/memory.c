/* Memory per line: allocator hooks that count, for the profiled line running
 * on the thread, the bytes it allocates and frees (issue 14).
 *
 * While a tracer with `memory` on exists, hooks sit in front of the "mem"
 * and "object" domains' allocators (PyMem_SetAllocator), chained to the
 * allocators found there (tracemalloc's, another tool's, or CPython's). The
 * raw domain is left alone: the other two take their large blocks from it,
 * so hooking it would count them twice, and it is called without the GIL,
 * where the size map below would need a lock on every call.
 *
 * An allocation is counted if the thread is running profiled code: its
 * thread stack (found through the same thread-local cache as the events,
 * never made here) has a record, and the innermost record's running line
 * gets the bytes. That costs a thread-local read when no profiled line runs.
 * Nothing calls into Python and nothing allocates through Python's
 * allocators; the hook adds to the record, and the next event of that frame
 * adds the record's bytes to the line's counts (lp_memory_flush, in the
 * event path, where making a shard's memory array is allowed).
 *
 * Frees are matched to sizes with a map of the blocks counted (address ->
 * size, below), in memory from libc's malloc: a block allocated while a
 * profiled line ran is entered, and its free (on any line, any thread)
 * finds its size and removes it. A size header would be cheaper to
 * look up, but a block allocated before the hooks (or after them) has none,
 * and freeing one through the wrong path corrupts the heap; a size query
 * (malloc_usable_size) exists for libc's blocks only, not pymalloc's or
 * mimalloc's, and gives the size class, not the size asked for. tracemalloc
 * keeps a table too (a hash table). Blocks allocated while no profiled line ran
 * are not entered, so their frees are not counted: what a line frees is
 * what profiled lines allocated since memory counting started.
 *
 * The hooks are process-wide (so is the allocator): one interpreter's
 * dispatcher owns them at a time. On stop they are taken out if they are
 * still the domains' allocators; if another tool has put its own in front
 * of them since, taking them out would cut that tool's chain, so they stay,
 * passing every call through, and their few bytes are never freed. */
#include "tracer.h"

#include <stdint.h>
#include <stdlib.h>

/* The sizes of the blocks counted, by address: a radix tree over the
 * address space in 8-byte units (every allocator PyMem chains to returns
 * blocks aligned to 8 at least), three levels deep, whose leaves hold a
 * 32-bit size per unit, 0 for none. Entering, finding and removing a block
 * are two or three dependent loads and a store, with no probing, markers or
 * rebuilds; blocks allocated together (pymalloc hands out a pool's blocks in
 * address order) have their sizes side by side, so the sizes of 128 bytes of
 * the heap share a cache line. The memory is half the span of the 32 KiB
 * regions that hold counted blocks, at most; a leaf is made when a block is
 * first counted in its region and kept until counting stops. */
#if SIZEOF_VOID_P > 4
#  define ADDRESS_BITS 48           /* user space on x86-64 and arm64 */
#  define UNMAPPED_ADDRESS_BITS ((~(uintptr_t)0 << ADDRESS_BITS) | (((uintptr_t)1 << UNIT_BITS) - 1))
#else
#  define ADDRESS_BITS 32
#  define UNMAPPED_ADDRESS_BITS (((uintptr_t)1 << UNIT_BITS) - 1)
#endif
enum {
    UNIT_BITS = 3,
    LEAF_BITS = 12,                 /* 4096 units: 32 KiB of addresses */
    MIDDLE_BITS = 15,               /* 32768 leaves: 1 GiB */
    TOP_BITS = ADDRESS_BITS - UNIT_BITS - LEAF_BITS - MIDDLE_BITS,
};

typedef struct SizeLeaf {
    uint32_t sizes[1 << LEAF_BITS];
} SizeLeaf;

typedef struct SizeMiddle {
    SizeLeaf *leaves[1 << MIDDLE_BITS];
} SizeMiddle;

typedef struct SizeMap {
    SizeMiddle **top;               /* 1 << TOP_BITS entries, or NULL */
    size_t n_middles;
    size_t first_middle, last_middle;   /* the span of top that holds them */
} SizeMap;

typedef struct MemoryHooks {
    Dispatcher *dispatcher;         /* borrowed: the owner; NULL once stopped */
    int users;                      /* tracers with memory on */
    int active;                     /* count (1) or only pass calls through (0) */
    PyMemAllocatorEx inner[2];      /* what was there: mem, object */
    PyMemAllocatorEx mine[2];
    SizeMap sizes;
#ifdef LP_FREE_THREADED
    char table_lock;                /* a spin lock: held for a few instructions */
#endif
} MemoryHooks;

static const PyMemAllocatorDomain domains[2] = {PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ};

/* Process-wide, as the allocator is; changed with the GIL (or, without
 * it, under the owner's dispatcher lock) by lp_memory_start/stop only. */
static MemoryHooks *hooks;

static inline void
table_lock(MemoryHooks *self)
{
#ifdef LP_FREE_THREADED
    while (__atomic_test_and_set(&self->table_lock, __ATOMIC_ACQUIRE)) {
        /* spin: the holder is inside a table operation */
    }
#else
    (void)self;
#endif
}

static inline void
table_unlock(MemoryHooks *self)
{
#ifdef LP_FREE_THREADED
    __atomic_clear(&self->table_lock, __ATOMIC_RELEASE);
#else
    (void)self;
#endif
}

/* Where a block's size is kept; NULL if its leaf does not exist yet or
 * its address is one the map does not cover. */
static inline uint32_t *
map_find(const SizeMap *map, const void *block)
{
    uintptr_t address = (uintptr_t)block;
    if ((address & UNMAPPED_ADDRESS_BITS) != 0 || map->top == NULL) {
        return NULL;
    }
    uintptr_t unit = address >> UNIT_BITS;
    const SizeMiddle *middle = map->top[unit >> (LEAF_BITS + MIDDLE_BITS)];
    if (middle == NULL) {
        return NULL;
    }
    SizeLeaf *leaf = middle->leaves[(unit >> LEAF_BITS) & ((1u << MIDDLE_BITS) - 1)];
    if (leaf == NULL) {
        return NULL;
    }
    return &leaf->sizes[unit & ((1u << LEAF_BITS) - 1)];
}

/* map_find, making the tables on the way; NULL if out of memory or the
 * address is not covered. Out of line: it runs once per 32 KiB region. */
static LP_NOINLINE uint32_t *
map_make(SizeMap *map, const void *block)
{
    uintptr_t address = (uintptr_t)block;
    if ((address & UNMAPPED_ADDRESS_BITS) != 0) {
        return NULL;
    }
    uintptr_t unit = address >> UNIT_BITS;
    if (map->top == NULL && (map->top = calloc((size_t)1 << TOP_BITS, sizeof(SizeMiddle *))) == NULL) {
        return NULL;
    }
    size_t top_index = (size_t)(unit >> (LEAF_BITS + MIDDLE_BITS));
    SizeMiddle **middle = &map->top[top_index];
    if (*middle == NULL) {
        if ((*middle = calloc(1, sizeof(SizeMiddle))) == NULL) {
            return NULL;
        }
        if (map->n_middles++ == 0 || top_index < map->first_middle) {
            map->first_middle = top_index;
        }
        if (map->n_middles == 1 || top_index > map->last_middle) {
            map->last_middle = top_index;
        }
    }
    SizeLeaf **leaf = &(*middle)->leaves[(unit >> LEAF_BITS) & ((1u << MIDDLE_BITS) - 1)];
    if (*leaf == NULL && (*leaf = calloc(1, sizeof(SizeLeaf))) == NULL) {
        return NULL;
    }
    return &(*leaf)->sizes[unit & ((1u << LEAF_BITS) - 1)];
}

/* Enters a block allocated now. 0 if it cannot be (out of memory, an
 * address the map does not cover, a size of 4 GiB or more): the block is
 * then not counted. */
static inline int
map_put(SizeMap *map, void *block, size_t size)
{
    if (size == 0 || size > UINT32_MAX) {
        return 0;
    }
    uint32_t *slot = map_find(map, block);
    if (slot == NULL && (slot = map_make(map, block)) == NULL) {
        return 0;
    }
    *slot = (uint32_t)size;
    return 1;
}

/* The block's size, removed from the map; 0 if it was not counted. */
static inline size_t
map_take(SizeMap *map, void *block)
{
    uint32_t *slot = map_find(map, block);
    if (slot == NULL) {
        return 0;
    }
    size_t size = *slot;
    *slot = 0;
    return size;
}

static void
map_clear(SizeMap *map)
{
    for (size_t i = map->first_middle; map->n_middles > 0 && i <= map->last_middle; i++) {
        SizeMiddle *middle = map->top[i];
        if (middle != NULL) {
            for (size_t j = 0; j < (size_t)1 << MIDDLE_BITS; j++) {
                if (middle->leaves[j] != NULL) {
                    free(middle->leaves[j]);
                }
            }
            free(middle);
        }
    }
    free(map->top);
    *map = (SizeMap){NULL, 0, 0, 0};
}

/* The innermost profiled record of this thread, if it runs profiled code
 * for the hooks' dispatcher: the events' thread-local cache, never the
 * slow path (which may allocate). */
static inline FrameRecord *
running_record(MemoryHooks *self)
{
    Dispatcher *dispatcher = LP_LOAD(self->dispatcher);
    if (lp_stack_cache.owner != dispatcher || dispatcher == NULL
            || lp_stack_cache.serial != dispatcher->serial
            || lp_stack_cache.stack->generation != lp_stack_cache.generation) {
        return NULL;
    }
    ThreadStack *stack = lp_stack_cache.stack;
    if (stack->depth <= 0 || stack->in_event) {
        return NULL;
    }
    return &stack->frames[stack->depth - 1];
}

static void
count_allocated(MemoryHooks *self, void *block, size_t size)
{
    FrameRecord *record = running_record(self);
    if (record == NULL) {
        return;
    }
    table_lock(self);
    int entered = map_put(&self->sizes, block, size);
    table_unlock(self);
    if (!entered) {
        return;
    }
    record->mem_allocated += size;
    record->mem_live += (int64_t)size;
    if (record->mem_live > record->mem_line_peak) {
        record->mem_line_peak = record->mem_live;
    }
    record->mem_touched = 1;
}

static void
count_freed(MemoryHooks *self, void *block)
{
    table_lock(self);
    size_t size = map_take(&self->sizes, block);
    table_unlock(self);
    if (size == 0) {
        return;
    }
    FrameRecord *record = running_record(self);
    if (record != NULL) {
        record->mem_freed += size;
        record->mem_live -= (int64_t)size;
        record->mem_touched = 1;
    }
}

static void *
hook_malloc(void *ctx, size_t size)
{
    PyMemAllocatorEx *inner = ctx;
    MemoryHooks *self = LP_LOAD_ACQUIRE(hooks);
    void *block = inner->malloc(inner->ctx, size);
    if (block != NULL && self != NULL && LP_LOAD(self->active)) {
        count_allocated(self, block, size);
    }
    return block;
}

static void *
hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    PyMemAllocatorEx *inner = ctx;
    MemoryHooks *self = LP_LOAD_ACQUIRE(hooks);
    void *block = inner->calloc(inner->ctx, nelem, elsize);
    if (block != NULL && self != NULL && LP_LOAD(self->active)) {
        count_allocated(self, block, nelem * elsize);
    }
    return block;
}

static void *
hook_realloc(void *ctx, void *old, size_t size)
{
    PyMemAllocatorEx *inner = ctx;
    MemoryHooks *self = LP_LOAD_ACQUIRE(hooks);
    if (self == NULL || !LP_LOAD(self->active)) {
        return inner->realloc(inner->ctx, old, size);
    }
    /* Taken out first: once realloc returns, another thread may be given
     * the old address. Put back if realloc fails (the old block lives on). */
    table_lock(self);
    size_t old_size = old != NULL ? map_take(&self->sizes, old) : 0;
    table_unlock(self);
    void *block = inner->realloc(inner->ctx, old, size);
    if (block == NULL) {
        if (old_size != 0) {
            table_lock(self);
            map_put(&self->sizes, old, old_size);
            table_unlock(self);
        }
        return NULL;
    }
    FrameRecord *record = running_record(self);
    if (old_size != 0 && record != NULL) {
        record->mem_freed += old_size;
        record->mem_live -= (int64_t)old_size;
        record->mem_touched = 1;
    }
    count_allocated(self, block, size);
    return block;
}

static void
hook_free(void *ctx, void *block)
{
    PyMemAllocatorEx *inner = ctx;
    MemoryHooks *self = LP_LOAD_ACQUIRE(hooks);
    if (block != NULL && self != NULL && LP_LOAD(self->active)) {
        count_freed(self, block);
    }
    inner->free(inner->ctx, block);
}

void
lp_memory_flush(Dispatcher *dispatcher, const ThreadStack *stack, FrameRecord *record)
{
    const CodeEntry *entry = record->entry;
    if (record->line >= 0 && entry != NULL) {
        const LinesTable *lines_of = LP_LOAD_ACQUIRE(entry->lines_of);
        for (int i = 0; i < lines_of->n; i++) {
            CodeLines *lines = lines_of->items[i];
            unsigned int index = (unsigned int)(record->line - lines->first_line);
            if (index >= (unsigned int)lines->n_lines || !LP_LOAD(lines->recording->memory)
                    || !lp_recording(lines->recording, stack)) {
                continue;
            }
            Shard *shard = lp_shard(dispatcher, lines, stack);
            if (shard == NULL) {
                continue;
            }
            LineMemory *memory = LP_LOAD_ACQUIRE(shard->memory);
            if (memory == NULL) {
                /* Only this thread writes this shard: no race to make it. */
                memory = PyMem_RawCalloc((size_t)lines->n_lines, sizeof(LineMemory));
                if (memory == NULL) {
                    continue;
                }
                LP_STORE_RELEASE(shard->memory, memory);
            }
            LineMemory *line = &memory[index];
            LP_BUMP(line->allocated, record->mem_allocated);
            LP_BUMP(line->freed, record->mem_freed);
            if (record->mem_line_peak > LP_LOAD(line->peak)) {
                LP_STORE(line->peak, record->mem_line_peak);
            }
        }
    }
    record->mem_call_allocated += record->mem_allocated;
    record->mem_call_freed += record->mem_freed;
    if (record->mem_line_peak > record->mem_call_peak) {
        record->mem_call_peak = record->mem_line_peak;
    }
    record->mem_allocated = record->mem_freed = 0;
    record->mem_line_peak = record->mem_live;
    record->mem_touched = 0;
}

int
lp_memory_start(Dispatcher *dispatcher)
{
    if (hooks != NULL && hooks->dispatcher != NULL && hooks->dispatcher != dispatcher) {
        PyErr_SetString(PyExc_RuntimeError,
                        "lineprof: memory is being profiled in another interpreter");
        return -1;
    }
    if (hooks != NULL && hooks->dispatcher == dispatcher) {
        hooks->users++;
        return 0;
    }
    if (hooks != NULL) {
        /* Left in a chain by an earlier stop: take them up again. */
        LP_STORE(hooks->dispatcher, dispatcher);
        hooks->users = 1;
        LP_STORE(hooks->active, 1);
        return 0;
    }
    MemoryHooks *made = calloc(1, sizeof(MemoryHooks));
    if (made == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    made->dispatcher = dispatcher;
    made->users = 1;
    made->active = 1;
    for (int i = 0; i < 2; i++) {
        PyMem_GetAllocator(domains[i], &made->inner[i]);
        made->mine[i] = (PyMemAllocatorEx){&made->inner[i], hook_malloc, hook_calloc,
                                           hook_realloc, hook_free};
    }
    LP_STORE_RELEASE(hooks, made);
    for (int i = 0; i < 2; i++) {
        PyMem_SetAllocator(domains[i], &made->mine[i]);
    }
    return 0;
}

static int
still_in_front(const MemoryHooks *self)
{
    for (int i = 0; i < 2; i++) {
        PyMemAllocatorEx now;
        PyMem_GetAllocator(domains[i], &now);
        if (now.ctx != self->mine[i].ctx || now.malloc != hook_malloc) {
            return 0;
        }
    }
    return 1;
}

void
lp_memory_stop(Dispatcher *dispatcher)
{
    MemoryHooks *self = LP_LOAD_ACQUIRE(hooks);
    if (self == NULL || self->dispatcher != dispatcher || --self->users > 0) {
        return;
    }
    LP_STORE(self->active, 0);
    LP_STORE(self->dispatcher, NULL);
    table_lock(self);
    map_clear(&self->sizes);
    table_unlock(self);
    if (!still_in_front(self)) {
        return;         /* another tool's hooks call ours: they stay, passing through */
    }
    for (int i = 0; i < 2; i++) {
        PyMem_SetAllocator(domains[i], &self->inner[i]);
    }
    LP_STORE_RELEASE(hooks, NULL);
#ifndef LP_FREE_THREADED
    free(self);     /* with the GIL held, no thread is inside a hook */
#endif
    /* Without the GIL another thread may still be inside a hook, reading
     * self->inner: those few bytes are kept. */
}
