#define _POSIX_C_SOURCE 200809L
#include "timer.h"

#include <stdlib.h>
#include <string.h>

#ifdef LP_HAVE_TSC
#  include <cpuid.h>

/* CPUID leaf 0x80000007, EDX bit 8: the TSC is invariant. */
static int
cpu_has_invariant_tsc(void)
{
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(0x80000000u, &eax, &ebx, &ecx, &edx) || eax < 0x80000007u) {
        return 0;
    }
    if (!__get_cpuid(0x80000007u, &eax, &ebx, &ecx, &edx)) {
        return 0;
    }
    return (edx >> 8) & 1u;
}
#endif

/* Reads both clocks as close together as possible: the TSC between two
 * monotonic readings, paired with their midpoint. */
static void
read_clock_pair(int64_t *ticks, int64_t *ns)
{
    int64_t before = lp_monotonic_ns();
#ifdef LP_HAVE_TSC
    *ticks = (int64_t)__rdtsc();
#else
    *ticks = before;
#endif
    int64_t after = lp_monotonic_ns();
    *ns = before + (after - before) / 2;
}

void
lp_timer_init(lp_timer *timer)
{
    const char *forced = getenv("LINEPROF_TIMER");
    timer->use_tsc = 0;
#ifdef LP_HAVE_TSC
    timer->use_tsc = cpu_has_invariant_tsc()
                     && !(forced && strcmp(forced, "clock_gettime") == 0);
#else
    (void)forced;
#endif
    read_clock_pair(&timer->origin_ticks, &timer->origin_ns);
}

double
lp_timer_unit(const lp_timer *timer)
{
    const int64_t min_window_ns = 20 * 1000 * 1000;
    int64_t ticks, ns;
    if (!timer->use_tsc) {
        return 1e-9;
    }
    do {
        read_clock_pair(&ticks, &ns);
    } while (ns - timer->origin_ns < min_window_ns);
    return (double)(ns - timer->origin_ns) * 1e-9
           / (double)(ticks - timer->origin_ticks);
}

const char *
lp_timer_name(const lp_timer *timer)
{
    return timer->use_tsc ? "tsc" : "clock_gettime";
}
