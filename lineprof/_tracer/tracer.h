/* Structures shared by the C files of lineprof._tracer: the module
 * (module.c), the code registry (registry.c), the thread stacks (threads.c)
 * and the two event backends.
 *
 * Ownership, from the top:
 *   Dispatcher   one per interpreter (the module's state object). Owns the
 *                code registry and every thread's frame stack, and installs
 *                the backend (trace function or sys.monitoring callbacks).
 *   Tracer       one per LineProfiler. Owns its CodeLines (one per
 *                registered code object) and a strong reference to each code.
 *   CodeEntry    one per registered code object, in the Dispatcher's
 *                registry. Lists the CodeLines of every Tracer that
 *                registered the code; lives while at least one does.
 *   CodeLines    one tracer's counts for one code object, in shards: one per
 *                thread slot without the GIL (each thread writes only its
 *                own, the readers add them up), a single one with it.
 *   ThreadStack  one per thread that ran profiled code: the profiled frames
 *                currently running on that thread, innermost last. Shared
 *                with a StackReleaser in the thread's state dict, which gives
 *                it back for reuse when the thread ends.
 *
 * Threads (docs/DESIGN.md, "Free-threaded CPython"): the per-event path
 * (lp_on_*) takes no lock, does no atomic read-modify-write, does not
 * allocate unless a thread's stack must grow or a thread meets a code object
 * for the first time, and does not call into Python. Everything it reads
 * that other threads change (the registry, an entry's list of CodeLines, a
 * CodeLines' shards) is replaced whole and published with a release store;
 * what it replaces is retired, and freed only once no thread is inside an
 * event (lp_reclaim). Changes are made under the dispatcher's lock (a no-op
 * with the GIL, which then serialises them). */
#ifndef LINEPROF_TRACER_H
#define LINEPROF_TRACER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "timer.h"

#if PY_VERSION_HEX >= 0x030C0000
#  define LP_USE_MONITORING 1
#endif

#ifdef Py_GIL_DISABLED
#  define LP_FREE_THREADED 1
#endif

#if PY_VERSION_HEX >= 0x03090000
#  define lp_interpreter_of(tstate) PyThreadState_GetInterpreter(tstate)
#else
#  define lp_interpreter_of(tstate) ((tstate)->interp)
#endif

/* For the few functions of the per-event path that the compiler would
 * rather call than inline into the callbacks (they are called from several),
 * and for rare slow paths kept out of them. */
#if defined(__GNUC__) || defined(__clang__)
#  define LP_ALWAYS_INLINE __attribute__((always_inline))
#  define LP_NOINLINE __attribute__((noinline))
#else
#  define LP_ALWAYS_INLINE
#  define LP_NOINLINE
#endif

/* Memory that other threads read meanwhile. Without the GIL these are
 * atomic loads and stores (relaxed unless named): plain moves on x86-64 and
 * arm64, so the event path pays nothing for them; with it, plain accesses. */
#ifdef LP_FREE_THREADED
#  define LP_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#  define LP_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#  define LP_LOAD_ACQUIRE(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#  define LP_STORE_RELEASE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#else
#  define LP_LOAD(x) (x)
#  define LP_STORE(x, v) ((x) = (v))
#  define LP_LOAD_ACQUIRE(x) (x)
#  define LP_STORE_RELEASE(x, v) ((x) = (v))
#endif
/* A count that only its own thread writes, and readers may read meanwhile. */
#define LP_BUMP(x, v) LP_STORE(x, LP_LOAD(x) + (v))

/* getattr by a C string, through the interned name: a name made afresh at
 * each lookup of a type's attribute is kept by the type cache, which then
 * grows with every call (free-threaded builds do not clear it). */
static inline PyObject *
lp_getattr(PyObject *obj, const char *name)
{
    PyObject *key = PyUnicode_InternFromString(name);
    PyObject *value = key ? PyObject_GetAttr(obj, key) : NULL;
    Py_XDECREF(key);
    return value;
}

typedef struct LineCounts {
    uint64_t hits;
    int64_t ticks;          /* the tracer's own time excluded */
    uint64_t half_dispatches;   /* halves of line-event dispatches in those ticks */
    uint64_t frame_half_dispatches; /* and of call and return events' */
} LineCounts;

struct CodeLines;

/* Calls of a tracer's code from one line of a profiled caller (the nearest
 * profiled frame below on the thread): how many, and the part of that
 * line's time they took. */
typedef struct Edge {
    const struct CodeLines *caller; /* the same tracer's lines of the caller; NULL: a free slot */
    int caller_line;
    uint64_t calls;                 /* a generator's resumes are not calls */
    int64_t ticks;                  /* the tracer's own time excluded, as a line's */
    uint64_t half_dispatches;
    uint64_t frame_half_dispatches;
} Edge;

typedef struct EdgeTable {          /* open addressing; replaced whole when half full */
    int capacity;                   /* a power of two */
    int used;
    Edge slots[];
} EdgeTable;

/* One thread slot's counts for one tracer's code: lines[i] is line
 * first_line + i. */
/* A line's memory (memory.c): bytes allocated and freed while it ran,
 * callees included, and the call's net allocation at its highest then. */
typedef struct LineMemory {
    uint64_t allocated;
    uint64_t freed;
    int64_t peak;
} LineMemory;

typedef struct Shard {
    uint64_t calls;                 /* frames started (a generator's resumes are not calls) */
    EdgeTable *edges;               /* who called it; NULL until the first call from profiled code */
    LineMemory *memory;             /* by line; NULL until the first bytes counted */
    LineCounts lines[];
} Shard;

typedef struct ShardTable {         /* replaced whole when it grows */
    int n;
    Shard *shards[];                /* by thread slot; NULL until that slot counts */
} ShardTable;

/* What the event path reads of a tracer: whether it records. Apart from the
 * tracer, so that a thread still in an event when the tracer is freed reads
 * memory that is retired, not freed. */
typedef struct Recording {
    int enabled;                    /* enable() was called, disable() not since */
    int by_count;                   /* enable_by_count() nesting, all threads */
    int calling_thread_only;        /* enable_by_count() records on its thread only */
    int memory;                     /* counts the bytes its lines allocate and free */
} Recording;

struct TracerObject;

/* One tracer's counts for one code object. */
typedef struct CodeLines {
    struct TracerObject *tracer;    /* borrowed: the owner (never on the event path) */
    Recording *recording;           /* the owner's */
    PyObject *code;                 /* strong */
    int first_line;
    int n_lines;
    Shard *first;                   /* slot 0's shard: every thread's with the GIL */
    ShardTable *more;               /* the other slots' (free-threaded), or NULL */
    int retired;                    /* its tracer is gone: no new shards (lock held) */
} CodeLines;

typedef struct LinesTable {         /* replaced whole when a tracer comes or goes */
    int n;
    CodeLines *items[];
} LinesTable;

typedef struct CodeEntry {
    PyObject *code;                 /* borrowed: kept alive by the CodeLines; NULL: a tombstone */
    LinesTable *lines_of;           /* the CodeLines of every tracer that registered it */
    int wanted;                     /* some tracer that registered it is armed */
#ifdef LP_USE_MONITORING
    int instrumented;               /* local events are set on the code */
    int n_units;                    /* code units in co_code */
    int *line_of_unit;              /* line number of each code unit, -1 if none */
#elif PY_VERSION_HEX >= 0x030B0000
    int start_offset;               /* byte offset of the RESUME that starts a call */
#endif
} CodeEntry;

/* A profiled frame that is running on a thread. */
typedef struct FrameRecord {
    const void *frame;              /* identity only: the frame (settrace) or NULL */
    PyObject *code;                 /* identity only */
    CodeEntry *entry;
    int line;                       /* the line being timed, -1 before the first */
    int outer;                      /* index of the nearest record of the same
                                     * code below this one (recursion), or -1 */
    int64_t start;                  /* when that line started, in ticks */
    uint64_t line_events_at_start;  /* the stack's line_events then */
    uint64_t frame_events_at_start; /* and its frame_events */
    int opened_by_line;             /* the line was opened by a line event */
    /* The call graph: */
    int64_t entered;                /* when the frame started or resumed */
    uint64_t line_events_at_entry;  /* the stack's counts then, that event counted */
    uint64_t frame_events_at_entry;
    int entered_by_line;            /* its record was made at a line event */
    int64_t paused;                 /* time spent paused by inner frames of its code */
    uint64_t paused_line_halves;    /* halves of line-event dispatches meanwhile */
    uint64_t paused_frame_halves;   /* and of frame events' */
    PyObject *caller_code;          /* identity only: the record below at the start, or NULL */
    int caller_line;                /* its line then */
    int new_call;                   /* 1: a call; 0: a generator resumed */
    int64_t caller_paused_at_entry; /* the caller's paused, paused_line_halves */
    uint64_t caller_paused_line_halves_at_entry;    /* and paused_frame_halves then */
    uint64_t caller_paused_frame_halves_at_entry;
    /* Memory (memory.c), counted by the allocator hooks into the innermost
     * record: the running line's bytes since it opened, and the call's. */
    int mem_touched;                /* bytes counted since the line opened */
    uint64_t mem_allocated, mem_freed;
    uint64_t mem_call_allocated, mem_call_freed;    /* the lines' flushed so far */
    int64_t mem_live;               /* the call's net allocation, callees included */
    int64_t mem_line_peak;          /* mem_live at its highest since the line opened */
    int64_t mem_call_peak;          /* and since the call started */
} FrameRecord;

/* ThreadStack.holders: who still needs the stack; the last to let go frees it. */
enum { LP_HELD_BY_THREAD = 1, LP_HELD_BY_DISPATCHER = 2 };

typedef struct ThreadStack {
    struct ThreadStack *next;       /* the Dispatcher's list of stacks */
    PyThreadState *tstate;
    int holders;                    /* LP_HELD_BY_* bits (atomic) */
    int slot;                       /* which shard this thread writes (0 with the GIL) */
    int in_event;                   /* the thread is handling an event (lp_reclaim) */
    uint64_t forget_epoch;          /* the dispatcher's, when this stack was last purged */
    uint64_t generation;            /* bumped when the stack changes threads */
    int depth;
    int capacity;
    FrameRecord *frames;
    int by_count;                   /* enable_by_count() nesting on this thread */
    Py_tracefunc saved_tracefunc;   /* settrace: the trace function lineprof */
    PyObject *saved_traceobj;       /* replaced on this thread, to restore (strong) */
    uint64_t line_events;           /* line events handled on this thread */
    uint64_t frame_events;          /* and call, return, yield and resume events */
} ThreadStack;

typedef struct RegistryTable {      /* open addressing, keyed by code pointer */
    Py_ssize_t capacity;            /* a power of two */
    Py_ssize_t used;                /* entries, tombstones included */
    Py_ssize_t live;                /* entries that are not tombstones */
    CodeEntry *slots[];
} RegistryTable;

/* Memory taken out of use that a thread still inside an event may read. */
typedef struct Retired {
    struct Retired *next;
    void *memory;
} Retired;

typedef struct Dispatcher {
    PyObject_HEAD
    lp_timer timer;
    uint64_t serial;
    RegistryTable *registry;        /* NULL until the first code is registered */
    ThreadStack *stacks;
    int n_slots;                    /* thread slots handed out so far */
    uint64_t forget_epoch;          /* bumped when records may have to be dropped */
    Retired *retired;
    int lock_depth;                 /* lp_lock() nesting on the thread that holds it */
#ifdef LP_FREE_THREADED
    PyMutex lock;
    unsigned long lock_owner;       /* thread ident of the holder */
#endif
    PyObject *releaser_type;        /* the type of StackReleaser */
    int n_enabled;                  /* tracers enabled with enable() */
#ifdef LP_USE_MONITORING
    int tool_id;                    /* -1 when not holding one */
    int n_instrumented;
    PyObject *monitoring;           /* sys.monitoring */
    PyObject *disable;              /* sys.monitoring.DISABLE */
    /* Its functions and event bits, looked up once: names looked up by a C
     * string make a new str each time, which the type cache then keeps. */
    PyObject *register_callback, *get_tool, *use_tool_id, *free_tool_id;
    PyObject *set_events, *set_local_events;
    long event_bits[16];            /* by backend_monitoring.c's EventKind */
    PyObject *callback_type;        /* the type of our callbacks */
#else
    Py_ssize_t trace_lines_offset;  /* of PyFrameObject.f_trace_lines, or -1 */
    PyObject *saved_thread_hook;    /* what threading.settrace had before us */
    int warned_replacing;           /* said once that another tracer was paused */
    int warned_replaced;            /* said once that another tracer took over */
    int wrap_trace;                 /* another tracer found on a thread gets the events too */
#endif
} Dispatcher;

typedef struct TracerObject {
    PyObject_HEAD
    Dispatcher *dispatcher;         /* strong */
    Py_ssize_t n_codes;
    Py_ssize_t capacity;
    CodeLines **codes;
    Recording *recording;           /* retired, not freed, with the tracer */
    int armed;                      /* its codes want events (atomic) */
    double event_cost;              /* ticks subtracted per line-event dispatch when read */
    double frame_event_cost;        /* and per call, return, yield or resume */
    int warned;                     /* enable_by_count() said it could not start */
} TracerObject;

/* Whether a tracer is on anywhere. */
static inline int
lp_recording_anywhere(const Recording *recording)
{
    return LP_LOAD(recording->enabled) || LP_LOAD(recording->by_count) > 0;
}

/* Whether a tracer records on this thread: enable() on every thread;
 * enable_by_count() on every thread too (sys.monitoring's events are seen on
 * all of them, as line_profiler 5 counts them on 3.12+), or, with
 * calling_thread_only, on the threads inside such a call only (a sampled
 * call must not count the unsampled calls other threads make meanwhile,
 * lineprof.sampling). The thread's count is that of every tracer: with two
 * tracers enabled by count on two threads, both threads pass. 3.8-3.11 trace
 * only the threads inside such a call anyway (the trace function is per
 * thread). */
static inline int
lp_recording(const Recording *recording, const ThreadStack *stack)
{
    return LP_LOAD(recording->enabled)
           || (LP_LOAD(recording->by_count) > 0
               && (stack->by_count > 0 || !LP_LOAD(recording->calling_thread_only)));
}

/* ---- the lock ------------------------------------------------------------
 *
 * One lock per dispatcher for every change of what the event path reads.
 * Re-entrant: a change that calls into Python (sys.monitoring) can run code
 * that profiles (a finalizer) on the same thread. Without the GIL a PyMutex,
 * which lets the thread's state go while it waits; with it, the nesting
 * count only. */
void lp_lock(Dispatcher *dispatcher);
void lp_unlock(Dispatcher *dispatcher);

/* Takes memory out of use: freed by lp_reclaim once no thread can be
 * reading it. Lock held. */
int lp_retire(Dispatcher *dispatcher, void *memory);
/* Frees the retired memory if no thread is inside an event and no change
 * is under way further out on this thread. Lock held. */
void lp_reclaim(Dispatcher *dispatcher);

/* ---- the registry ------------------------------------------------------ */

extern LinesTable lp_no_lines;

static inline CodeEntry *
lp_registry_find(const Dispatcher *dispatcher, const PyObject *code)
{
    const RegistryTable *table = LP_LOAD_ACQUIRE(dispatcher->registry);
    if (table == NULL || LP_LOAD(table->live) == 0) {
        return NULL;
    }
    Py_ssize_t mask = table->capacity - 1;
    Py_ssize_t i = (Py_ssize_t)(((uintptr_t)code >> 4) & (uintptr_t)mask);
    for (;;) {
        CodeEntry *entry = LP_LOAD_ACQUIRE(table->slots[i]);
        if (entry == NULL || entry->code == code) {
            return entry;
        }
        i = (i + 1) & mask;
    }
}

/* ---- shards ------------------------------------------------------------- */

Shard *lp_shard_new(int n_lines);
Shard *lp_shard_slow(Dispatcher *dispatcher, CodeLines *lines, int slot);
/* An edge that is not in the shard's table yet, or a table that is half
 * full: the table is replaced by a larger one. NULL when out of memory or
 * the tracer is going. */
Edge *lp_edge_slow(Dispatcher *dispatcher, const CodeLines *lines, Shard *shard,
                   const CodeLines *caller, int caller_line);
/* Retires a CodeLines and its shards (its tracer is going). Lock held. */
void lp_lines_retire(Dispatcher *dispatcher, CodeLines *lines);

/* The shard the calling thread writes; NULL if it cannot be made. */
static inline Shard *
lp_shard(Dispatcher *dispatcher, CodeLines *lines, const struct ThreadStack *stack)
{
#ifdef LP_FREE_THREADED
    int slot = stack->slot;
    if (slot != 0) {
        const ShardTable *table = LP_LOAD_ACQUIRE(lines->more);
        Shard *shard = (table != NULL && slot < table->n) ? LP_LOAD_ACQUIRE(table->shards[slot]) : NULL;
        return shard != NULL ? shard : lp_shard_slow(dispatcher, lines, slot);
    }
#else
    (void)dispatcher;
    (void)stack;
#endif
    return lines->first;
}

static inline unsigned int
lp_edge_hash(const CodeLines *caller, int caller_line)
{
    return (unsigned int)((uintptr_t)caller >> 4) ^ ((unsigned int)caller_line * 0x9E3779B1u);
}

/* The shard's edge from this caller line. Only the shard's thread adds
 * edges; a reader (under the lock) sees a slot's key published last. */
static inline Edge *
lp_edge(Dispatcher *dispatcher, const CodeLines *lines, Shard *shard, const CodeLines *caller,
        int caller_line)
{
    EdgeTable *table = shard->edges;
    if (table != NULL) {
        unsigned int mask = (unsigned int)table->capacity - 1;
        for (unsigned int i = lp_edge_hash(caller, caller_line) & mask;; i = (i + 1) & mask) {
            Edge *edge = &table->slots[i];
            if (edge->caller == caller && edge->caller_line == caller_line) {
                return edge;
            }
            if (edge->caller == NULL) {
                if (2 * (table->used + 1) > table->capacity) {
                    break;
                }
                edge->caller_line = caller_line;
                LP_STORE_RELEASE(edge->caller, caller);
                LP_STORE(table->used, table->used + 1);
                return edge;
            }
        }
    }
    return lp_edge_slow(dispatcher, lines, shard, caller, caller_line);
}

/* ---- threads ----------------------------------------------------------- */

ThreadStack *lp_thread_stack_slow(Dispatcher *dispatcher);
/* The stack of any thread of the interpreter, made if it has none. */
ThreadStack *lp_stack_of(Dispatcher *dispatcher, PyThreadState *tstate);

/* initial-exec: the per-event path reaches the variable through the thread
 * pointer directly instead of calling __tls_get_addr (a shared object's
 * default), which cost a tenth of an event. */
#if defined(_MSC_VER)
#  define LP_THREAD_LOCAL __declspec(thread)
#elif defined(__GNUC__) && defined(__linux__)
#  define LP_THREAD_LOCAL _Thread_local __attribute__((tls_model("initial-exec")))
#else
#  define LP_THREAD_LOCAL _Thread_local
#endif
/* The calling OS thread's last stack, with what it was found for. */
typedef struct StackCache {
    const struct Dispatcher *owner;
    uint64_t serial;
    ThreadStack *stack;
    uint64_t generation;
} StackCache;
extern LP_THREAD_LOCAL StackCache lp_stack_cache;

/* The calling thread's stack. The cache is checked against the dispatcher
 * and its serial, so that another interpreter gets its own stacks and a
 * freed dispatcher is never followed, and against the stack's generation,
 * which changes when the stack is handed to another thread (its thread
 * ended). Asking CPython for the thread state instead would cost a
 * __tls_get_addr call per event on 3.12+. */
static inline ThreadStack *
lp_thread_stack(Dispatcher *dispatcher)
{
    if (lp_stack_cache.owner == dispatcher && lp_stack_cache.serial == dispatcher->serial
            && lp_stack_cache.stack->generation == lp_stack_cache.generation) {
        return lp_stack_cache.stack;
    }
    return lp_thread_stack_slow(dispatcher);
}

int lp_stack_grow(ThreadStack *stack);
/* Drops the records whose code is no longer registered or wanted. */
void lp_purge_stack(Dispatcher *dispatcher, ThreadStack *stack);

/* Brackets every event: the thread's stack, marked as inside an event (so
 * that lp_reclaim keeps what it may read), and purged first if records were
 * forgotten since its last event. NULL: no stack, ignore the event. */
static inline ThreadStack *
lp_event_begin(Dispatcher *dispatcher)
{
    ThreadStack *stack = lp_thread_stack(dispatcher);
    if (stack == NULL) {
        return NULL;
    }
    LP_STORE(stack->in_event, 1);
    /* Orders the store before the loads below against the reclaiming
     * thread's memory barrier (membarrier): the compiler must not move them. */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (stack->forget_epoch != LP_LOAD_ACQUIRE(dispatcher->forget_epoch)) {
        lp_purge_stack(dispatcher, stack);
    }
    return stack;
}

static inline void
lp_event_end(ThreadStack *stack)
{
    LP_STORE_RELEASE(stack->in_event, 0);
}

/* ---- the per-event path ------------------------------------------------
 *
 * Each event reads the clock once, on entry (t_in): that moment closes the
 * running line and opens the next one. Everything an event costs (the
 * interpreter stopping at the line and calling the tracer, and the tracer's
 * own work) is the event's "dispatch". A line's time holds the part of the
 * dispatch of the event that opened it after t_in, the part of the one that
 * closed it before t_in, and the whole dispatches of the events nested in it
 * (callees). Each line counts the halves of line events, and apart from them
 * the whole frame events (call, return, yield, resume) nested in it; an edge
 * (a call) counts its frame events' halves too. A calibrated cost per
 * dispatch of each kind is subtracted when the counts are read
 * (Tracer.event_cost, Tracer.frame_event_cost): without the frame events' a
 * line that calls profiled functions kept their dispatches, and a whole
 * program's top function reported up to 3x its real time.
 *
 * A second reading on exit would keep the tracer's own work out of the line
 * exactly, but on the machines measured it costs 8-15 ns per event, more than
 * that work; the calibrated cost covers it instead (BENCHMARKS.md). */

enum { LP_FRAME_EVENT = 0, LP_LINE_EVENT = 1 };

/* Opens a line (or resumes a paused one) at time t, during an event that
 * lp_event_done has not counted yet: it is counted as a half here (a line
 * event) or not at all (a frame event). */
static inline void
lp_open(FrameRecord *record, const ThreadStack *stack, int64_t t, int event_kind)
{
    record->start = t;
    record->line_events_at_start = stack->line_events + (uint64_t)event_kind;
    record->frame_events_at_start = stack->frame_events + (uint64_t)(1 - event_kind);
    record->opened_by_line = event_kind;
}

/* Halves of line-event dispatches in the record's running line, closed by an
 * event of this kind. */
static inline uint64_t
lp_line_halves(const ThreadStack *stack, const FrameRecord *record, int event_kind)
{
    return 2 * (stack->line_events - record->line_events_at_start)
           + (uint64_t)record->opened_by_line + (uint64_t)event_kind;
}

/* Halves of frame-event dispatches in it: the whole ones of the profiled
 * calls it made only. The two halves of a dispatch are not equal for frame
 * events (a return does most of its work after reading the clock), and
 * counting them as equal zeroed the cheap lines that a call or a return
 * opens or closes (`return n` in fib, on 3.11 and 3.13); left in, they err
 * on the side of subtracting too little. */
static inline uint64_t
lp_frame_halves(const ThreadStack *stack, const FrameRecord *record)
{
    return 2 * (stack->frame_events - record->frame_events_at_start);
}

/* Adds the time since the record's line started to that line. */
/* memory.c: adds the record's line's bytes to the line of each tracer that
 * counts memory, and starts the line's count afresh. */
void lp_memory_flush(Dispatcher *dispatcher, const ThreadStack *stack, FrameRecord *record);

static inline void
lp_charge(Dispatcher *dispatcher, const ThreadStack *stack, FrameRecord *record,
          int64_t t_in, int event_kind)
{
    const CodeEntry *entry = record->entry;
    if (record->mem_touched) {
        lp_memory_flush(dispatcher, stack, record);
    }
    if (record->line < 0 || entry == NULL) {
        return;
    }
    int64_t elapsed = t_in - record->start;
    uint64_t halves = lp_line_halves(stack, record, event_kind);
    uint64_t frame_halves = lp_frame_halves(stack, record);
    const LinesTable *lines_of = LP_LOAD_ACQUIRE(entry->lines_of);
    for (int i = 0; i < lines_of->n; i++) {
        CodeLines *lines = lines_of->items[i];
        unsigned int index = (unsigned int)(record->line - lines->first_line);
        if (index < (unsigned int)lines->n_lines && lp_recording(lines->recording, stack)) {
            Shard *shard = lp_shard(dispatcher, lines, stack);
            if (shard != NULL) {
                LP_BUMP(shard->lines[index].ticks, elapsed);
                LP_BUMP(shard->lines[index].half_dispatches, halves);
                LP_BUMP(shard->lines[index].frame_half_dispatches, frame_halves);
            }
        }
    }
}

/* Ends an event: counts it, for compensation. */
static inline void
lp_event_done(ThreadStack *stack, int event_kind)
{
    stack->line_events += (uint64_t)event_kind;
    stack->frame_events += (uint64_t)(1 - event_kind);
}

/* Recursion: while a frame runs, the outer frames of the same code are
 * paused, so each moment is charged to one line of a function only (that of
 * its innermost frame) and a function's total is its real time. */
static inline FrameRecord *
lp_push(Dispatcher *dispatcher, ThreadStack *stack, const void *frame, PyObject *code,
        CodeEntry *entry, int64_t t_in, int event_kind)
{
    if (stack->depth == stack->capacity && lp_stack_grow(stack) < 0) {
        return NULL;
    }
    int outer = stack->depth - 1;
    while (outer >= 0 && stack->frames[outer].code != code) {
        outer--;
    }
    if (outer >= 0) {
        FrameRecord *paused = &stack->frames[outer];
        lp_charge(dispatcher, stack, paused, t_in, event_kind);
        /* Were the new frame's end never seen, the outer one goes on from here. */
        lp_open(paused, stack, t_in, event_kind);
    }
    FrameRecord *record = &stack->frames[stack->depth++];
    record->frame = frame;
    record->code = code;
    record->entry = entry;
    record->line = -1;
    record->outer = outer;
    record->entered = t_in;
    record->line_events_at_entry = stack->line_events + (uint64_t)event_kind;
    record->frame_events_at_entry = stack->frame_events + (uint64_t)(1 - event_kind);
    record->entered_by_line = event_kind;
    record->paused = 0;
    record->paused_line_halves = 0;
    record->paused_frame_halves = 0;
    record->caller_code = NULL;     /* unknown unless the frame is seen to start */
    record->mem_touched = 0;
    record->mem_allocated = record->mem_freed = 0;
    record->mem_call_allocated = record->mem_call_freed = 0;
    record->mem_live = record->mem_line_peak = record->mem_call_peak = 0;
    return record;
}

/* The record of the running frame. Normally the innermost one; if frames
 * above it exited unseen (tracing was off for a while) they are dropped; a
 * frame that started before tracing began gets its record now. */
static inline FrameRecord *
lp_find_or_push(Dispatcher *dispatcher, ThreadStack *stack, const void *frame, PyObject *code,
                CodeEntry *entry, int64_t t_in)
{
    for (int i = stack->depth - 1; i >= 0; i--) {
        FrameRecord *record = &stack->frames[i];
        if (record->code == code && record->frame == frame) {
            stack->depth = i + 1;
            return record;
        }
    }
    return lp_push(dispatcher, stack, frame, code, entry, t_in, LP_LINE_EVENT);
}

static inline void
lp_on_start(Dispatcher *dispatcher, ThreadStack *stack, const void *frame, PyObject *code,
            CodeEntry *entry, int resumed_line)
{
    int64_t t_in = lp_timer_read(&dispatcher->timer);
    FrameRecord *record = lp_push(dispatcher, stack, frame, code, entry, t_in, LP_FRAME_EVENT);
    if (record == NULL) {
        return;
    }
    if (stack->depth >= 2) {
        const FrameRecord *caller = &stack->frames[stack->depth - 2];
        record->caller_code = caller->code;
        record->caller_line = caller->line;
        record->caller_paused_at_entry = caller->paused;
        record->caller_paused_line_halves_at_entry = caller->paused_line_halves;
        record->caller_paused_frame_halves_at_entry = caller->paused_frame_halves;
    }
    record->new_call = resumed_line < 0;
    if (resumed_line < 0) {
        const LinesTable *lines_of = LP_LOAD_ACQUIRE(entry->lines_of);
        for (int i = 0; i < lines_of->n; i++) {
            CodeLines *lines = lines_of->items[i];
            Shard *shard = lp_recording(lines->recording, stack) ? lp_shard(dispatcher, lines, stack) : NULL;
            if (shard != NULL) {
                LP_BUMP(shard->calls, 1);
            }
        }
    }
    /* A resumed generator goes on with the line it was suspended on,
     * without a new hit: settrace gives no line event for it either. */
    record->line = resumed_line;
    lp_open(record, stack, t_in, LP_FRAME_EVENT);
    lp_event_done(stack, LP_FRAME_EVENT);
}

/* threads.c: the record of a frame whose line event finds another on top
 * of the stack (registry lookup, the records above dropped or a new one
 * made), NULL if its code is not profiled. Out of line, so that the common
 * path of a line event stays small. */
FrameRecord *lp_line_record_slow(Dispatcher *dispatcher, ThreadStack *stack, const void *frame,
                                 PyObject *code, int64_t t_in);

/* One tracer's counts at a line event: the previous line's time, the new
 * line's hit. */
static inline void
lp_count_line(Dispatcher *dispatcher, const ThreadStack *stack, CodeLines *lines,
              const FrameRecord *record, int line, int64_t elapsed, uint64_t halves,
              uint64_t frame_halves)
{
    if (!lp_recording(lines->recording, stack)) {
        return;
    }
    Shard *shard = lp_shard(dispatcher, lines, stack);
    if (shard == NULL) {
        return;
    }
    unsigned int previous = (unsigned int)(record->line - lines->first_line);
    if (record->line >= 0 && previous < (unsigned int)lines->n_lines) {
        LP_BUMP(shard->lines[previous].ticks, elapsed);
        LP_BUMP(shard->lines[previous].half_dispatches, halves);
        LP_BUMP(shard->lines[previous].frame_half_dispatches, frame_halves);
    }
    unsigned int index = (unsigned int)(line - lines->first_line);
    if (index < (unsigned int)lines->n_lines) {
        LP_BUMP(shard->lines[index].hits, 1);
    }
}

/* A line event, the most frequent by far. The running frame's record is
 * normally on top of the stack, which spares the registry lookup; the
 * previous line's charge and the new line's hit share one pass over the
 * tracers, of which there is normally one. */
static inline LP_ALWAYS_INLINE void
lp_on_line(Dispatcher *dispatcher, ThreadStack *stack, const void *frame, PyObject *code,
           int line)
{
    int64_t t_in = lp_timer_read(&dispatcher->timer);
    FrameRecord *record = stack->depth > 0 ? &stack->frames[stack->depth - 1] : NULL;
    if (record == NULL || record->code != code || record->frame != frame) {
        record = lp_line_record_slow(dispatcher, stack, frame, code, t_in);
        if (record == NULL) {
            return;
        }
    }
    if (record->mem_touched) {
        lp_memory_flush(dispatcher, stack, record);
    }
    const CodeEntry *entry = record->entry;
    if (entry != NULL) {
        int64_t elapsed = t_in - record->start;
        uint64_t halves = lp_line_halves(stack, record, LP_LINE_EVENT);
        uint64_t frame_halves = lp_frame_halves(stack, record);
        const LinesTable *lines_of = LP_LOAD_ACQUIRE(entry->lines_of);
        if (lines_of->n == 1) {
            lp_count_line(dispatcher, stack, lines_of->items[0], record, line, elapsed, halves,
                          frame_halves);
        }
        else {
            for (int i = 0; i < lines_of->n; i++) {
                lp_count_line(dispatcher, stack, lines_of->items[i], record, line, elapsed,
                              halves, frame_halves);
            }
        }
    }
    record->line = line;
    lp_open(record, stack, t_in, LP_LINE_EVENT);
    lp_event_done(stack, LP_LINE_EVENT);
}

/* A frame leaves its caller's line: the edge from that line gets the
 * frame's time less the time the caller was paused meanwhile (an inner frame
 * of the caller's code ran, and was charged to its own lines), so that a
 * line's time is its edges' plus its own. */
static inline void
lp_count_call(Dispatcher *dispatcher, const ThreadStack *stack, const FrameRecord *callee,
              const FrameRecord *caller, int64_t duration, uint64_t line_halves,
              uint64_t frame_halves)
{
    if (callee->caller_line < 0 || callee->entry == NULL || caller->entry == NULL) {
        return;
    }
    int64_t ticks = duration - (caller->paused - callee->caller_paused_at_entry);
    uint64_t halves = line_halves - (caller->paused_line_halves
                                     - callee->caller_paused_line_halves_at_entry);
    frame_halves -= caller->paused_frame_halves - callee->caller_paused_frame_halves_at_entry;
    const LinesTable *callee_lines = LP_LOAD_ACQUIRE(callee->entry->lines_of);
    const LinesTable *caller_lines = LP_LOAD_ACQUIRE(caller->entry->lines_of);
    for (int i = 0; i < callee_lines->n; i++) {
        CodeLines *lines = callee_lines->items[i];
        if (!lp_recording(lines->recording, stack)) {
            continue;
        }
        const CodeLines *from = NULL;      /* the same tracer's lines of the caller */
        for (int j = 0; j < caller_lines->n && from == NULL; j++) {
            if (caller_lines->items[j]->tracer == lines->tracer) {
                from = caller_lines->items[j];
            }
        }
        unsigned int index = from ? (unsigned int)(callee->caller_line - from->first_line) : 0;
        Shard *shard = (from != NULL && index < (unsigned int)from->n_lines)
                       ? lp_shard(dispatcher, lines, stack) : NULL;
        Edge *edge = shard != NULL ? lp_edge(dispatcher, lines, shard, from, callee->caller_line) : NULL;
        if (edge != NULL) {
            LP_BUMP(edge->calls, (uint64_t)callee->new_call);
            LP_BUMP(edge->ticks, ticks);
            LP_BUMP(edge->half_dispatches, halves);
            LP_BUMP(edge->frame_half_dispatches, frame_halves);
        }
    }
}

/* A profiled frame returns to the record below it: its call's bytes are
 * part of the running line there (callees included, as time is). */
static inline void
lp_memory_return(const FrameRecord *callee, FrameRecord *caller)
{
    caller->mem_allocated += callee->mem_call_allocated;
    caller->mem_freed += callee->mem_call_freed;
    int64_t peak = caller->mem_live + callee->mem_call_peak;
    if (peak > caller->mem_line_peak) {
        caller->mem_line_peak = peak;
    }
    if (peak > caller->mem_call_peak) {
        caller->mem_call_peak = peak;
    }
    caller->mem_live += callee->mem_live;
    caller->mem_touched = 1;
}

/* A return, a yield or an exception leaving the frame. */
static inline void
lp_on_exit(Dispatcher *dispatcher, ThreadStack *stack, const void *frame, PyObject *code)
{
    int64_t t_in = lp_timer_read(&dispatcher->timer);
    for (int i = stack->depth - 1; i >= 0; i--) {
        FrameRecord *record = &stack->frames[i];
        if (record->code == code && record->frame == frame) {
            lp_charge(dispatcher, stack, record, t_in, LP_FRAME_EVENT);
            int outer = record->outer;
            int64_t duration = t_in - record->entered;
            /* The dispatches in that time: the halves of the two ends. */
            uint64_t line_halves = 2 * (stack->line_events - record->line_events_at_entry)
                                   + (uint64_t)record->entered_by_line;
            uint64_t frame_halves = 2 * (stack->frame_events - record->frame_events_at_entry)
                                    + (uint64_t)(1 - record->entered_by_line) + 1;
            if (outer >= 0 && outer < i) {
                stack->frames[outer].paused += duration;
                stack->frames[outer].paused_line_halves += line_halves;
                stack->frames[outer].paused_frame_halves += frame_halves;
            }
            /* Records dropped by a purge may have moved the caller. */
            if (i > 0 && record->caller_code != NULL && stack->frames[i - 1].code == record->caller_code) {
                lp_count_call(dispatcher, stack, record, &stack->frames[i - 1], duration,
                              line_halves, frame_halves);
            }
            if (i > 0 && (record->mem_call_allocated | record->mem_call_freed)) {
                lp_memory_return(record, &stack->frames[i - 1]);
            }
            stack->depth = i;
            if (outer >= 0 && outer < i) {
                lp_open(&stack->frames[outer], stack, t_in, LP_FRAME_EVENT);    /* it goes on */
            }
            lp_event_done(stack, LP_FRAME_EVENT);
            return;
        }
    }
}

/* ---- the backends ------------------------------------------------------ */

/* Called once the module state exists, and before it is freed. */
int lp_backend_init(Dispatcher *dispatcher);
void lp_backend_clear(Dispatcher *dispatcher);

/* settrace: install or remove the trace function on the calling thread
 * (enable_by_count) or on every thread, present and future (enable). */
int lp_backend_trace_thread(Dispatcher *dispatcher, ThreadStack *stack, int on);
#ifndef LP_USE_MONITORING
/* dispatcher(frame, event, arg), as sys.settrace calls a trace function. */
PyObject *lp_dispatcher_call(PyObject *dispatcher, PyObject *args, PyObject *kwargs);
#endif
int lp_backend_trace_all_threads(Dispatcher *dispatcher, int on);

/* sys.monitoring: set or clear the local events of one code object. */
int lp_backend_instrument(Dispatcher *dispatcher, CodeEntry *entry, int on);

/* Fills what the backend keeps per code object (monitoring: the line of
 * every code unit). */
int lp_backend_init_entry(Dispatcher *dispatcher, CodeEntry *entry);
void lp_backend_clear_entry(Dispatcher *dispatcher, CodeEntry *entry);

/* threads.c, shared by the backends. */
void lp_clear_stack(ThreadStack *stack);
/* Records of code that is no longer registered or wanted are to be dropped:
 * each thread does it on its own stack, at its next event. */
void lp_forget_records(Dispatcher *dispatcher);
int lp_add_releaser_type(Dispatcher *dispatcher);
void lp_free_stacks(Dispatcher *dispatcher);

/* registry.c */
/* The entry of a code object, made (and registered) if it has none. */
CodeEntry *lp_entry_for(Dispatcher *dispatcher, PyObject *code);
int lp_entry_append(Dispatcher *dispatcher, CodeEntry *entry, CodeLines *lines);
/* Sets entry->wanted from its tracers; records are forgotten if it drops. */
void lp_entry_update_wanted(Dispatcher *dispatcher, CodeEntry *entry);
/* Whether some tracer that registered this code wants its events. */
int lp_entry_wanted(const CodeEntry *entry);
/* Removes one tracer's lines; the entry is freed when none are left. */
void lp_entry_detach(Dispatcher *dispatcher, CodeEntry *entry, const CodeLines *lines);
/* Frees the registry and whatever is retired (the dispatcher is going). */
void lp_registry_free(Dispatcher *dispatcher);

/* wrapper.c: adds the ProfiledFunction (3.9+) and ProfiledGenerator types. */
int lp_add_profiled_function_type(PyObject *module);
/* What the function wrappers share with functions: bound as a method to the
 * instance they are looked up on (tp_descr_get), pickled by their qualified
 * name in their module (__reduce__). */
PyObject *lp_bind_as_method(PyObject *self, PyObject *obj, PyObject *type);
PyObject *lp_reduce_by_qualname(PyObject *self, PyObject *ignored);
/* memory.c: the allocator hooks, installed while a tracer of this
 * dispatcher counts memory (users). -1 with an exception set. */
int lp_memory_start(Dispatcher *dispatcher);
void lp_memory_stop(Dispatcher *dispatcher);
/* sampled.c: adds the Countdown and SampledFunction types and the thread's
 * sampling mode (lineprof.sampling). */
int lp_add_sampled_function_type(PyObject *module);
#ifndef _WIN32
/* signals.c */
PyObject *lp_resend_until_handled(PyObject *module, PyObject *signum);
PyObject *lp_signal_handled(PyObject *module, PyObject *ignored);
#endif

#endif /* LINEPROF_TRACER_H */
