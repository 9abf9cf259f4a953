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
 *   ThreadStack  one per thread that ran profiled code: the profiled frames
 *                currently running on that thread, innermost last.
 *
 * Everything here is protected by the GIL. The per-event path (lp_on_*)
 * takes no lock, does not allocate unless a thread's stack must grow beyond
 * its deepest point so far, and does not call into Python. */
#ifndef LINEPROF_TRACER_H
#define LINEPROF_TRACER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "timer.h"

#if PY_VERSION_HEX >= 0x030C0000
#  define LP_USE_MONITORING 1
#endif

#if PY_VERSION_HEX >= 0x03090000
#  define lp_interpreter_of(tstate) PyThreadState_GetInterpreter(tstate)
#else
#  define lp_interpreter_of(tstate) ((tstate)->interp)
#endif

typedef struct LineCounts {
    uint64_t hits;
    int64_t ticks;          /* the tracer's own time excluded */
    uint64_t half_dispatches;   /* halves of line-event dispatches in those ticks */
} LineCounts;

struct TracerObject;

/* One tracer's counts for one code object: lines[i] is line first_line + i. */
typedef struct CodeLines {
    struct TracerObject *tracer;    /* borrowed: the owner */
    PyObject *code;                 /* strong */
    int first_line;
    int n_lines;
    LineCounts *lines;
    uint64_t calls;                 /* frames started (a generator's resumes are not calls) */
} CodeLines;

typedef struct CodeEntry {
    PyObject *code;                 /* borrowed: kept alive by the CodeLines */
    int n_lines_of;                 /* how many CodeLines follow */
    int capacity;
    CodeLines **lines_of;
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
    int opened_by_line;             /* the line was opened by a line event */
} FrameRecord;

typedef struct ThreadStack {
    struct ThreadStack *next;       /* the Dispatcher's list of stacks */
    struct Dispatcher *owner;
    PyThreadState *tstate;
    uint64_t generation;            /* bumped when the stack changes threads */
    int depth;
    int capacity;
    FrameRecord *frames;
    int by_count;                   /* enable_by_count() nesting on this thread */
    Py_tracefunc saved_tracefunc;   /* settrace: the trace function lineprof */
    PyObject *saved_traceobj;       /* replaced on this thread, to restore (strong) */
    uint64_t line_events;           /* line events handled on this thread */
} ThreadStack;

typedef struct CodeRegistry {       /* open addressing, keyed by code pointer */
    Py_ssize_t capacity;            /* a power of two */
    Py_ssize_t used;
    CodeEntry **slots;
} CodeRegistry;

typedef struct Dispatcher {
    PyObject_HEAD
    lp_timer timer;
    uint64_t serial;
    CodeRegistry registry;
    ThreadStack *stacks;
    int n_enabled;                  /* tracers enabled with enable() */
#ifdef LP_USE_MONITORING
    int tool_id;                    /* -1 when not holding one */
    int n_instrumented;
    PyObject *monitoring;           /* sys.monitoring */
    PyObject *disable;              /* sys.monitoring.DISABLE */
    PyObject *callback_type;        /* the type of our callbacks */
#else
    Py_ssize_t trace_lines_offset;  /* of PyFrameObject.f_trace_lines, or -1 */
    PyObject *saved_thread_hook;    /* what threading.settrace had before us */
    int warned_replacing;           /* said once that another tracer was paused */
    int warned_replaced;            /* said once that another tracer took over */
#endif
} Dispatcher;

typedef struct TracerObject {
    PyObject_HEAD
    Dispatcher *dispatcher;         /* strong */
    Py_ssize_t n_codes;
    Py_ssize_t capacity;
    CodeLines **codes;
    int enabled;                    /* enable() was called, disable() not since */
    int by_count;                   /* enable_by_count() nesting, all threads */
    int armed;                      /* monitoring: its codes are instrumented */
    double event_cost;              /* ticks subtracted per dispatch when read */
    int warned;                     /* enable_by_count() said it could not start */
} TracerObject;

static inline int
lp_tracer_recording(const TracerObject *tracer)
{
    return tracer->enabled || tracer->by_count > 0;
}

/* ---- the registry ------------------------------------------------------ */

static inline CodeEntry *
lp_registry_find(const CodeRegistry *registry, const PyObject *code)
{
    if (registry->used == 0) {
        return NULL;
    }
    Py_ssize_t mask = registry->capacity - 1;
    Py_ssize_t i = (Py_ssize_t)(((uintptr_t)code >> 4) & (uintptr_t)mask);
    for (;;) {
        CodeEntry *entry = registry->slots[i];
        if (entry == NULL || entry->code == code) {
            return entry;
        }
        i = (i + 1) & mask;
    }
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

/* ---- the per-event path ------------------------------------------------
 *
 * Each event reads the clock once, on entry (t_in): that moment closes the
 * running line and opens the next one. Everything an event costs (the
 * interpreter stopping at the line and calling the tracer, and the tracer's
 * own work) is the event's "dispatch". A line's time holds the part of the
 * dispatch of the event that opened it after t_in, the part of the one that
 * closed it before t_in, and the whole dispatches of the events nested in it
 * (callees). Each line counts those as halves, for line events only, and a
 * calibrated cost per line event is subtracted when the counts are read
 * (Tracer.event_cost). Call and return events are cheaper and vary more, so
 * their dispatches are left in: compensation errs on the side of subtracting
 * too little.
 *
 * A second reading on exit would keep the tracer's own work out of the line
 * exactly, but on the machines measured it costs 8-15 ns per event, more than
 * that work; the calibrated cost covers it instead (BENCHMARKS.md). */

enum { LP_FRAME_EVENT = 0, LP_LINE_EVENT = 1 };

/* Opens a line (or resumes a paused one) at time t. */
static inline void
lp_open(FrameRecord *record, const ThreadStack *stack, int64_t t, int event_kind)
{
    record->start = t;
    record->line_events_at_start = stack->line_events;
    record->opened_by_line = event_kind;
}

/* Adds the time since the record's line started to that line. */
static inline void
lp_charge(const ThreadStack *stack, const FrameRecord *record, int64_t t_in, int event_kind)
{
    const CodeEntry *entry = record->entry;
    if (record->line < 0 || entry == NULL) {
        return;
    }
    int64_t elapsed = t_in - record->start;
    uint64_t halves = 2 * (stack->line_events - record->line_events_at_start)
                      + (uint64_t)record->opened_by_line + (uint64_t)event_kind;
    for (int i = 0; i < entry->n_lines_of; i++) {
        CodeLines *lines = entry->lines_of[i];
        unsigned int index = (unsigned int)(record->line - lines->first_line);
        if (index < (unsigned int)lines->n_lines && lp_tracer_recording(lines->tracer)) {
            lines->lines[index].ticks += elapsed;
            lines->lines[index].half_dispatches += halves;
        }
    }
}

/* Ends an event: counts it if it is a line event, for compensation. */
static inline void
lp_event_done(ThreadStack *stack, int event_kind)
{
    stack->line_events += (uint64_t)event_kind;
}

/* Recursion: while a frame runs, the outer frames of the same code are
 * paused, so each moment is charged to one line of a function only (that of
 * its innermost frame) and a function's total is its real time. */
static inline FrameRecord *
lp_push(ThreadStack *stack, const void *frame, PyObject *code, CodeEntry *entry, int64_t t_in)
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
        lp_charge(stack, paused, t_in, LP_FRAME_EVENT);
        /* Were the new frame's end never seen, the outer one goes on from here. */
        lp_open(paused, stack, t_in, LP_FRAME_EVENT);
    }
    FrameRecord *record = &stack->frames[stack->depth++];
    record->frame = frame;
    record->code = code;
    record->entry = entry;
    record->line = -1;
    record->outer = outer;
    return record;
}

/* The record of the running frame. Normally the innermost one; if frames
 * above it exited unseen (tracing was off for a while) they are dropped; a
 * frame that started before tracing began gets its record now. */
static inline FrameRecord *
lp_find_or_push(ThreadStack *stack, const void *frame, PyObject *code, CodeEntry *entry,
                int64_t t_in)
{
    for (int i = stack->depth - 1; i >= 0; i--) {
        FrameRecord *record = &stack->frames[i];
        if (record->code == code && record->frame == frame) {
            stack->depth = i + 1;
            return record;
        }
    }
    return lp_push(stack, frame, code, entry, t_in);
}

static inline void
lp_on_start(ThreadStack *stack, const void *frame, PyObject *code, CodeEntry *entry,
            int resumed_line, const lp_timer *timer)
{
    int64_t t_in = lp_timer_read(timer);
    FrameRecord *record = lp_push(stack, frame, code, entry, t_in);
    if (record == NULL) {
        return;
    }
    if (resumed_line < 0) {
        for (int i = 0; i < entry->n_lines_of; i++) {
            if (lp_tracer_recording(entry->lines_of[i]->tracer)) {
                entry->lines_of[i]->calls++;
            }
        }
    }
    /* A resumed generator goes on with the line it was suspended on,
     * without a new hit: settrace gives no line event for it either. */
    record->line = resumed_line;
    lp_event_done(stack, LP_FRAME_EVENT);
    lp_open(record, stack, t_in, LP_FRAME_EVENT);
}

/* A line event. The running frame's record is normally on top of the stack,
 * which spares the registry lookup; the previous line's charge and the new
 * line's hit share one pass over the tracers. */
static inline void
lp_on_line(const Dispatcher *dispatcher, ThreadStack *stack, const void *frame, PyObject *code,
           int line)
{
    int64_t t_in = lp_timer_read(&dispatcher->timer);
    FrameRecord *record;
    if (stack->depth > 0 && stack->frames[stack->depth - 1].code == code
            && stack->frames[stack->depth - 1].frame == frame) {
        record = &stack->frames[stack->depth - 1];
    }
    else {
        CodeEntry *entry = lp_registry_find(&dispatcher->registry, code);
        if (entry == NULL) {
            return;
        }
        record = lp_find_or_push(stack, frame, code, entry, t_in);
        if (record == NULL) {
            return;
        }
    }
    const CodeEntry *entry = record->entry;
    if (entry != NULL) {
        int64_t elapsed = t_in - record->start;
        uint64_t halves = 2 * (stack->line_events - record->line_events_at_start)
                          + (uint64_t)record->opened_by_line + LP_LINE_EVENT;
        for (int i = 0; i < entry->n_lines_of; i++) {
            CodeLines *lines = entry->lines_of[i];
            if (!lp_tracer_recording(lines->tracer)) {
                continue;
            }
            unsigned int previous = (unsigned int)(record->line - lines->first_line);
            if (record->line >= 0 && previous < (unsigned int)lines->n_lines) {
                lines->lines[previous].ticks += elapsed;
                lines->lines[previous].half_dispatches += halves;
            }
            unsigned int index = (unsigned int)(line - lines->first_line);
            if (index < (unsigned int)lines->n_lines) {
                lines->lines[index].hits++;
            }
        }
    }
    record->line = line;
    lp_event_done(stack, LP_LINE_EVENT);
    lp_open(record, stack, t_in, LP_LINE_EVENT);
}

/* A return, a yield or an exception leaving the frame. */
static inline void
lp_on_exit(ThreadStack *stack, const void *frame, PyObject *code, const lp_timer *timer)
{
    int64_t t_in = lp_timer_read(timer);
    for (int i = stack->depth - 1; i >= 0; i--) {
        FrameRecord *record = &stack->frames[i];
        if (record->code == code && record->frame == frame) {
            lp_charge(stack, record, t_in, LP_FRAME_EVENT);
            int outer = record->outer;
            stack->depth = i;
            lp_event_done(stack, LP_FRAME_EVENT);
            if (outer >= 0 && outer < i) {
                lp_open(&stack->frames[outer], stack, t_in, LP_FRAME_EVENT);    /* it goes on */
            }
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
int lp_backend_trace_all_threads(Dispatcher *dispatcher, int on);

/* sys.monitoring: set or clear the local events of one code object. */
int lp_backend_instrument(Dispatcher *dispatcher, CodeEntry *entry, int on);

/* Fills what the backend keeps per code object (monitoring: the line of
 * every code unit). */
int lp_backend_init_entry(Dispatcher *dispatcher, CodeEntry *entry);
void lp_backend_clear_entry(CodeEntry *entry);

/* threads.c, shared by the backends. */
void lp_clear_stack(ThreadStack *stack);
/* Drops the records of one code object from every thread's stack. */
void lp_forget_records_of(Dispatcher *dispatcher, const CodeEntry *entry);

/* registry.c */
/* The entry of a code object, made (and registered) if it has none. */
CodeEntry *lp_entry_for(Dispatcher *dispatcher, PyObject *code);
int lp_entry_append(CodeEntry *entry, CodeLines *lines);
/* Whether some tracer that registered this code wants its events. */
int lp_entry_wanted(const CodeEntry *entry);
/* Removes one tracer's lines; the entry is freed when none are left. */
void lp_entry_detach(Dispatcher *dispatcher, CodeEntry *entry, const CodeLines *lines);

/* wrapper.c: adds the ProfiledFunction (3.9+) and ProfiledGenerator types. */
int lp_add_profiled_function_type(PyObject *module);

#endif /* LINEPROF_TRACER_H */
