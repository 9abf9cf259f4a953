/* The profiler's clock.
 *
 * On x86-64 with an invariant TSC (constant rate, runs in every C-state) the
 * clock is the time-stamp counter: one instruction, no system call, no vDSO.
 * Its rate is calibrated against CLOCK_MONOTONIC over the whole time since
 * lp_timer_init(), so the longer a program runs the more exact the unit.
 * Elsewhere the clock is clock_gettime(CLOCK_MONOTONIC) in nanoseconds.
 *
 * This file does not include Python.h: the C tests use it on its own. */
#ifndef LINEPROF_TIMER_H
#define LINEPROF_TIMER_H

#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#  include <x86intrin.h>
#  define LP_HAVE_TSC 1
#endif

typedef struct lp_timer {
    int use_tsc;
    int64_t origin_ticks;   /* clock values at lp_timer_init(): the calibration baseline */
    int64_t origin_ns;
} lp_timer;

static inline int64_t
lp_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t
lp_timer_read(const lp_timer *timer)
{
#ifdef LP_HAVE_TSC
    if (timer->use_tsc) {
        return (int64_t)__rdtsc();
    }
#endif
    (void)timer;
    return lp_monotonic_ns();
}

/* Chooses the clock. The environment variable LINEPROF_TIMER=clock_gettime
 * forces the portable clock (useful to compare the two). */
void lp_timer_init(lp_timer *timer);

/* Seconds per tick. For the TSC this waits until at least 20 ms have passed
 * since lp_timer_init(), so that the calibration error stays below 1e-5. */
double lp_timer_unit(const lp_timer *timer);

/* "tsc" or "clock_gettime". */
const char *lp_timer_name(const lp_timer *timer);

#endif /* LINEPROF_TIMER_H */
