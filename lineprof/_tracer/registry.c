/* The code registry: the profiled code objects of an interpreter, and for
 * each the counts of every tracer that registered it; the dispatcher's lock,
 * and the retiring of memory the event path may still be reading. See
 * tracer.h for who owns what. */
#include "tracer.h"

#include <string.h>

#if defined(LP_FREE_THREADED) && defined(__linux__)
#  include <linux/membarrier.h>
#  include <sys/syscall.h>
#  include <unistd.h>
#endif

LinesTable lp_no_lines;             /* n == 0: an entry no tracer counts */

/* Marks a removed slot: lookups go on past it, so removing an entry never
 * hides another from a thread probing at the same moment. */
static CodeEntry tombstone;         /* code == NULL matches no code */

/* ---- the lock and retiring ------------------------------------------------ */

void
lp_lock(Dispatcher *dispatcher)
{
#ifdef LP_FREE_THREADED
    unsigned long me = PyThread_get_thread_ident();
    if (LP_LOAD(dispatcher->lock_owner) != me) {
        PyMutex_Lock(&dispatcher->lock);
        LP_STORE(dispatcher->lock_owner, me);
    }
#endif
    dispatcher->lock_depth++;
}

void
lp_unlock(Dispatcher *dispatcher)
{
    dispatcher->lock_depth--;
#ifdef LP_FREE_THREADED
    if (dispatcher->lock_depth == 0) {
        LP_STORE(dispatcher->lock_owner, 0UL);
        PyMutex_Unlock(&dispatcher->lock);
    }
#endif
}

int
lp_retire(Dispatcher *dispatcher, void *memory)
{
    if (memory == NULL || memory == &lp_no_lines) {
        return 0;
    }
    Retired *retired = PyMem_RawMalloc(sizeof(Retired));
    if (retired == NULL) {
        return -1;      /* kept for good: freeing it now could pull it from under a reader */
    }
    retired->memory = memory;
    retired->next = dispatcher->retired;
    dispatcher->retired = retired;
    return 0;
}

static void
free_retired(Dispatcher *dispatcher)
{
    Retired *retired = dispatcher->retired;
    dispatcher->retired = NULL;
    while (retired != NULL) {
        Retired *next = retired->next;
        PyMem_RawFree(retired->memory);
        PyMem_RawFree(retired);
        retired = next;
    }
}

/* Without the GIL: a memory barrier on every running thread of the process
 * (Linux membarrier), so that a thread's in_event store, which has no fence
 * of its own, is seen below before what it then reads could be freed. 0
 * where it cannot be had: the retired memory then waits for the dispatcher's
 * end. */
static int
fence_other_threads(void)
{
#if !defined(LP_FREE_THREADED)
    return 1;       /* the GIL orders the threads */
#elif defined(__linux__) && defined(SYS_membarrier)
    return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0
           && syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
#else
    return 0;
#endif
}

void
lp_reclaim(Dispatcher *dispatcher)
{
    /* A change further out on this thread (re-entered from a finalizer)
     * may still hold what was retired. */
    if (dispatcher->retired == NULL || dispatcher->lock_depth > 1 || !fence_other_threads()) {
        return;
    }
    for (ThreadStack *stack = dispatcher->stacks; stack != NULL; stack = stack->next) {
        if (LP_LOAD_ACQUIRE(stack->in_event)) {
            return;     /* the next change tries again */
        }
    }
    free_retired(dispatcher);
}

/* ---- the registry table ---------------------------------------------------- */

static Py_ssize_t
home_slot(Py_ssize_t capacity, const PyObject *code)
{
    return (Py_ssize_t)(((uintptr_t)code >> 4) & (uintptr_t)(capacity - 1));
}

/* Replaces the table by a new one of this capacity, without tombstones. */
static int
registry_rebuild(Dispatcher *dispatcher, Py_ssize_t capacity)
{
    RegistryTable *old = dispatcher->registry;
    RegistryTable *table = PyMem_RawCalloc(1, sizeof(RegistryTable) + (size_t)capacity * sizeof(CodeEntry *));
    if (table == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    table->capacity = capacity;
    for (Py_ssize_t i = 0; old != NULL && i < old->capacity; i++) {
        CodeEntry *entry = old->slots[i];
        if (entry != NULL && entry != &tombstone) {
            Py_ssize_t j = home_slot(capacity, entry->code);
            while (table->slots[j] != NULL) {
                j = (j + 1) & (capacity - 1);
            }
            table->slots[j] = entry;
            table->used++;
            table->live++;
        }
    }
    LP_STORE_RELEASE(dispatcher->registry, table);
    (void)lp_retire(dispatcher, old);
    return 0;
}

static int
registry_insert(Dispatcher *dispatcher, CodeEntry *entry)
{
    RegistryTable *table = dispatcher->registry;
    if (table == NULL || (table->used + 1) * 2 > table->capacity) {
        Py_ssize_t capacity = 64;
        while (table != NULL && capacity < (table->live + 1) * 4) {
            capacity *= 2;
        }
        if (registry_rebuild(dispatcher, capacity) < 0) {
            return -1;
        }
        table = dispatcher->registry;
    }
    Py_ssize_t i = home_slot(table->capacity, entry->code);
    while (table->slots[i] != NULL && table->slots[i] != &tombstone) {
        i = (i + 1) & (table->capacity - 1);
    }
    if (table->slots[i] == NULL) {
        table->used++;
    }
    LP_STORE(table->live, table->live + 1);
    LP_STORE_RELEASE(table->slots[i], entry);
    return 0;
}

static void
registry_remove(Dispatcher *dispatcher, const CodeEntry *entry)
{
    RegistryTable *table = dispatcher->registry;
    Py_ssize_t i = home_slot(table->capacity, entry->code);
    while (table->slots[i] != entry) {
        i = (i + 1) & (table->capacity - 1);
    }
    LP_STORE_RELEASE(table->slots[i], &tombstone);
    LP_STORE(table->live, table->live - 1);
}

void
lp_registry_free(Dispatcher *dispatcher)
{
    RegistryTable *table = dispatcher->registry;
    for (Py_ssize_t i = 0; table != NULL && i < table->capacity; i++) {
        CodeEntry *entry = table->slots[i];
        if (entry != NULL && entry != &tombstone) {
            lp_backend_clear_entry(dispatcher, entry);
            if (entry->lines_of != &lp_no_lines) {
                PyMem_RawFree(entry->lines_of);
            }
            PyMem_RawFree(entry);
        }
    }
    PyMem_RawFree(table);
    dispatcher->registry = NULL;
    free_retired(dispatcher);
}

/* ---- entries --------------------------------------------------------------- */

CodeEntry *
lp_entry_for(Dispatcher *dispatcher, PyObject *code)
{
    CodeEntry *entry = lp_registry_find(dispatcher, code);
    if (entry != NULL) {
        return entry;
    }
    entry = PyMem_RawCalloc(1, sizeof(CodeEntry));
    if (entry == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    entry->code = code;
    entry->lines_of = &lp_no_lines;
    if (lp_backend_init_entry(dispatcher, entry) < 0) {
        PyMem_RawFree(entry);
        return NULL;
    }
    if (registry_insert(dispatcher, entry) < 0) {
        lp_backend_clear_entry(dispatcher, entry);
        PyMem_RawFree(entry);
        return NULL;
    }
    return entry;
}

/* Publishes an entry's new list of CodeLines, retiring the old one. */
static void
publish_lines(Dispatcher *dispatcher, CodeEntry *entry, LinesTable *table)
{
    LinesTable *old = entry->lines_of;
    LP_STORE_RELEASE(entry->lines_of, table);
    (void)lp_retire(dispatcher, old);
}

int
lp_entry_append(Dispatcher *dispatcher, CodeEntry *entry, CodeLines *lines)
{
    int n = entry->lines_of->n;
    LinesTable *table = PyMem_RawMalloc(sizeof(LinesTable) + (size_t)(n + 1) * sizeof(CodeLines *));
    if (table == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(table->items, entry->lines_of->items, (size_t)n * sizeof(CodeLines *));
    table->items[n] = lines;
    table->n = n + 1;
    publish_lines(dispatcher, entry, table);
    return 0;
}

int
lp_entry_wanted(const CodeEntry *entry)
{
    for (int i = 0; i < entry->lines_of->n; i++) {
        if (LP_LOAD(entry->lines_of->items[i]->tracer->armed)) {
            return 1;
        }
    }
    return 0;
}

void
lp_entry_update_wanted(Dispatcher *dispatcher, CodeEntry *entry)
{
    int wanted = lp_entry_wanted(entry);
    int was_wanted = entry->wanted;
    LP_STORE(entry->wanted, wanted);
    if (was_wanted && !wanted) {
        lp_forget_records(dispatcher);
    }
}

void
lp_entry_detach(Dispatcher *dispatcher, CodeEntry *entry, const CodeLines *lines)
{
    const LinesTable *old = entry->lines_of;
    LinesTable *table = &lp_no_lines;
    if (old->n > 1) {
        table = PyMem_RawMalloc(sizeof(LinesTable) + (size_t)(old->n - 1) * sizeof(CodeLines *));
        if (table == NULL) {
            PyErr_WriteUnraisable(NULL);    /* out of memory: keep counting for it */
            return;
        }
        table->n = 0;
        for (int i = 0; i < old->n; i++) {
            if (old->items[i] != lines) {
                table->items[table->n++] = old->items[i];
            }
        }
    }
    publish_lines(dispatcher, entry, table);
    if (table->n > 0) {
        lp_entry_update_wanted(dispatcher, entry);
        return;
    }
    /* Nobody profiles this code any more. */
    if (lp_backend_instrument(dispatcher, entry, 0) < 0) {
        PyErr_WriteUnraisable(entry->code);
    }
    registry_remove(dispatcher, entry);
    LP_STORE(entry->wanted, 0);
    lp_forget_records(dispatcher);
    lp_backend_clear_entry(dispatcher, entry);
    (void)lp_retire(dispatcher, entry);
}

/* ---- shards ---------------------------------------------------------------- */

Shard *
lp_shard_new(int n_lines)
{
    return PyMem_RawCalloc(1, sizeof(Shard) + (size_t)n_lines * sizeof(LineCounts));
}

/* A thread slot's first count in this code: its shard is made (never on
 * this thread's next events). NULL when out of memory, or when the tracer
 * went while this event was under way: the event is not counted. */
Shard *
lp_shard_slow(Dispatcher *dispatcher, CodeLines *lines, int slot)
{
    lp_lock(dispatcher);
    ShardTable *table = lines->more;
    Shard *shard = (table != NULL && slot < table->n) ? table->shards[slot] : NULL;
    if (shard == NULL && !lines->retired) {
        shard = lp_shard_new(lines->n_lines);
        if (shard != NULL && (table == NULL || slot >= table->n)) {
            int n = table != NULL ? table->n * 2 : 8;
            while (n <= slot) {
                n *= 2;
            }
            ShardTable *grown = PyMem_RawCalloc(1, sizeof(ShardTable) + (size_t)n * sizeof(Shard *));
            if (grown == NULL) {
                PyMem_RawFree(shard);
                shard = NULL;
            }
            else {
                grown->n = n;
                if (table != NULL) {
                    memcpy(grown->shards, table->shards, (size_t)table->n * sizeof(Shard *));
                }
                LP_STORE_RELEASE(lines->more, grown);
                (void)lp_retire(dispatcher, table);
                table = grown;
            }
        }
        if (shard != NULL) {
            LP_STORE_RELEASE(table->shards[slot], shard);
        }
    }
    lp_unlock(dispatcher);
    return shard;
}

static Edge *
edge_insert(EdgeTable *table, const CodeLines *caller, int caller_line)
{
    unsigned int mask = (unsigned int)table->capacity - 1;
    unsigned int i = lp_edge_hash(caller, caller_line) & mask;
    while (table->slots[i].caller != NULL) {
        i = (i + 1) & mask;
    }
    Edge *edge = &table->slots[i];
    edge->caller = caller;
    edge->caller_line = caller_line;
    table->used++;
    return edge;
}

Edge *
lp_edge_slow(Dispatcher *dispatcher, const CodeLines *lines, Shard *shard,
             const CodeLines *caller, int caller_line)
{
    lp_lock(dispatcher);
    Edge *edge = NULL;
    EdgeTable *table = shard->edges;
    int capacity = table != NULL ? table->capacity * 2 : 8;
    EdgeTable *grown = lines->retired ? NULL
                       : PyMem_RawCalloc(1, sizeof(EdgeTable) + (size_t)capacity * sizeof(Edge));
    if (grown != NULL) {
        grown->capacity = capacity;
        for (int i = 0; table != NULL && i < table->capacity; i++) {
            const Edge *old = &table->slots[i];
            if (old->caller != NULL) {
                Edge *moved = edge_insert(grown, old->caller, old->caller_line);
                moved->calls = old->calls;
                moved->ticks = old->ticks;
                moved->half_dispatches = old->half_dispatches;
                moved->frame_half_dispatches = old->frame_half_dispatches;
            }
        }
        edge = edge_insert(grown, caller, caller_line);
        LP_STORE_RELEASE(shard->edges, grown);
        (void)lp_retire(dispatcher, table);
    }
    lp_unlock(dispatcher);
    return edge;
}

static void
shard_retire(Dispatcher *dispatcher, Shard *shard)
{
    if (shard != NULL) {
        (void)lp_retire(dispatcher, shard->edges);
        (void)lp_retire(dispatcher, shard->memory);
        (void)lp_retire(dispatcher, shard);
    }
}

void
lp_lines_retire(Dispatcher *dispatcher, CodeLines *lines)
{
    lines->retired = 1;
    shard_retire(dispatcher, lines->first);
    for (int i = 0; lines->more != NULL && i < lines->more->n; i++) {
        shard_retire(dispatcher, lines->more->shards[i]);
    }
    (void)lp_retire(dispatcher, lines->more);
    (void)lp_retire(dispatcher, lines);
}
