/* The per-thread frame stacks: which profiled frames are running on each
 * thread of the interpreter. See tracer.h for who owns what. */
#include "tracer.h"

LP_THREAD_LOCAL StackCache lp_stack_cache;

static int
thread_state_alive(PyThreadState *tstate)
{
    PyInterpreterState *interp = lp_interpreter_of(PyThreadState_Get());
    for (PyThreadState *t = PyInterpreterState_ThreadHead(interp); t != NULL;
            t = PyThreadState_Next(t)) {
        if (t == tstate) {
            return 1;
        }
    }
    return 0;
}

ThreadStack *
lp_stack_of(Dispatcher *dispatcher, PyThreadState *tstate)
{
    for (ThreadStack *stack = dispatcher->stacks; stack != NULL; stack = stack->next) {
        if (stack->tstate == tstate) {
            return stack;
        }
    }
    /* Reuse the stack of a thread that has ended, so that a program starting
     * many short threads does not grow the profiler. */
    for (ThreadStack *stack = dispatcher->stacks; stack != NULL; stack = stack->next) {
        if (!thread_state_alive(stack->tstate)) {
            lp_clear_stack(stack);
            stack->by_count = 0;
            stack->saved_tracefunc = NULL;
            Py_CLEAR(stack->saved_traceobj);
            stack->tstate = tstate;
            stack->generation++;
            return stack;
        }
    }
    ThreadStack *stack = PyMem_RawCalloc(1, sizeof(ThreadStack));
    if (stack == NULL) {
        return NULL;
    }
    stack->owner = dispatcher;
    stack->tstate = tstate;
    stack->next = dispatcher->stacks;
    dispatcher->stacks = stack;
    return stack;
}

ThreadStack *
lp_thread_stack_slow(Dispatcher *dispatcher)
{
    ThreadStack *stack = lp_stack_of(dispatcher, PyThreadState_Get());
    if (stack != NULL) {
        lp_stack_cache.owner = dispatcher;
        lp_stack_cache.serial = dispatcher->serial;
        lp_stack_cache.stack = stack;
        lp_stack_cache.generation = stack->generation;
    }
    return stack;
}

int
lp_stack_grow(ThreadStack *stack)
{
    int capacity = stack->capacity ? stack->capacity * 2 : 64;
    FrameRecord *frames = PyMem_RawRealloc(stack->frames, (size_t)capacity * sizeof(FrameRecord));
    if (frames == NULL) {
        return -1;
    }
    stack->frames = frames;
    stack->capacity = capacity;
    return 0;
}

void
lp_clear_stack(ThreadStack *stack)
{
    stack->depth = 0;
}

/* Drops the records of one code object from every thread: its events are
 * no longer seen, so those records would never be closed. */
void
lp_forget_records_of(Dispatcher *dispatcher, const CodeEntry *entry)
{
    for (ThreadStack *stack = dispatcher->stacks; stack != NULL; stack = stack->next) {
        int kept = 0;
        for (int i = 0; i < stack->depth; i++) {
            if (stack->frames[i].entry != entry) {
                stack->frames[kept++] = stack->frames[i];
            }
        }
        stack->depth = kept;
        /* Records moved down: find each one's outer record again. */
        for (int i = 0; i < kept; i++) {
            int outer = i - 1;
            while (outer >= 0 && stack->frames[outer].code != stack->frames[i].code) {
                outer--;
            }
            stack->frames[i].outer = outer;
        }
    }
}

