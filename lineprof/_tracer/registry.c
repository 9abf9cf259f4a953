/* The code registry: the profiled code objects of an interpreter, and for
 * each the counts of every tracer that registered it. See tracer.h. */
#include "tracer.h"

static Py_ssize_t
registry_slot(const CodeRegistry *registry, const PyObject *code)
{
    Py_ssize_t mask = registry->capacity - 1;
    return (Py_ssize_t)(((uintptr_t)code >> 4) & (uintptr_t)mask);
}

static int
registry_grow(CodeRegistry *registry)
{
    Py_ssize_t old_capacity = registry->capacity;
    CodeEntry **old_slots = registry->slots;
    Py_ssize_t capacity = old_capacity ? old_capacity * 2 : 64;
    CodeEntry **slots = PyMem_RawCalloc((size_t)capacity, sizeof(CodeEntry *));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    registry->slots = slots;
    registry->capacity = capacity;
    for (Py_ssize_t i = 0; i < old_capacity; i++) {
        CodeEntry *entry = old_slots[i];
        if (entry != NULL) {
            Py_ssize_t j = registry_slot(registry, entry->code);
            while (slots[j] != NULL) {
                j = (j + 1) & (capacity - 1);
            }
            slots[j] = entry;
        }
    }
    PyMem_RawFree(old_slots);
    return 0;
}

static int
registry_insert(CodeRegistry *registry, CodeEntry *entry)
{
    if ((registry->used + 1) * 2 > registry->capacity && registry_grow(registry) < 0) {
        return -1;
    }
    Py_ssize_t i = registry_slot(registry, entry->code);
    while (registry->slots[i] != NULL) {
        i = (i + 1) & (registry->capacity - 1);
    }
    registry->slots[i] = entry;
    registry->used++;
    return 0;
}

/* Linear probing without tombstones: after removing, move later entries of
 * the same cluster back so that every entry stays reachable. */
static void
registry_remove(CodeRegistry *registry, const CodeEntry *entry)
{
    Py_ssize_t mask = registry->capacity - 1;
    Py_ssize_t i = registry_slot(registry, entry->code);
    while (registry->slots[i] != entry) {
        i = (i + 1) & mask;
    }
    registry->slots[i] = NULL;
    registry->used--;
    for (Py_ssize_t j = (i + 1) & mask; registry->slots[j] != NULL; j = (j + 1) & mask) {
        CodeEntry *moved = registry->slots[j];
        Py_ssize_t home = registry_slot(registry, moved->code);
        /* Move it back if its home is not within (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            registry->slots[i] = moved;
            registry->slots[j] = NULL;
            i = j;
        }
    }
}

CodeEntry *
lp_entry_for(Dispatcher *dispatcher, PyObject *code)
{
    CodeEntry *entry = lp_registry_find(&dispatcher->registry, code);
    if (entry != NULL) {
        return entry;
    }
    entry = PyMem_RawCalloc(1, sizeof(CodeEntry));
    if (entry == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    entry->code = code;
    if (lp_backend_init_entry(dispatcher, entry) < 0) {
        PyMem_RawFree(entry);
        return NULL;
    }
    if (registry_insert(&dispatcher->registry, entry) < 0) {
        lp_backend_clear_entry(entry);
        PyMem_RawFree(entry);
        return NULL;
    }
    return entry;
}

int
lp_entry_append(CodeEntry *entry, CodeLines *lines)
{
    if (entry->n_lines_of == entry->capacity) {
        int capacity = entry->capacity ? entry->capacity * 2 : 2;
        CodeLines **grown = PyMem_RawRealloc(entry->lines_of, (size_t)capacity * sizeof(CodeLines *));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        entry->lines_of = grown;
        entry->capacity = capacity;
    }
    entry->lines_of[entry->n_lines_of++] = lines;
    return 0;
}

/* Whether some tracer that registered this code wants its events. */
int
lp_entry_wanted(const CodeEntry *entry)
{
    for (int i = 0; i < entry->n_lines_of; i++) {
        if (entry->lines_of[i]->tracer->armed) {
            return 1;
        }
    }
    return 0;
}

void
lp_entry_detach(Dispatcher *dispatcher, CodeEntry *entry, const CodeLines *lines)
{
    int kept = 0;
    for (int i = 0; i < entry->n_lines_of; i++) {
        if (entry->lines_of[i] != lines) {
            entry->lines_of[kept++] = entry->lines_of[i];
        }
    }
    entry->n_lines_of = kept;
    if (kept == 0) {
        /* Nobody profiles this code any more. */
        if (lp_backend_instrument(dispatcher, entry, 0) < 0) {
            PyErr_WriteUnraisable(entry->code);
        }
        lp_forget_records_of(dispatcher, entry);
        registry_remove(&dispatcher->registry, entry);
        lp_backend_clear_entry(entry);
        PyMem_RawFree(entry->lines_of);
        PyMem_RawFree(entry);
    }
}

