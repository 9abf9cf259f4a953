/* C tests of the timer: monotonic, and a unit that agrees with
 * CLOCK_MONOTONIC to within 5%. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

#include "timer.h"

static int failures;

#define CHECK(condition, ...)                         \
    do {                                              \
        if (!(condition)) {                           \
            failures++;                               \
            fprintf(stderr, "FAILED: " __VA_ARGS__);  \
            fprintf(stderr, "\n");                    \
        }                                             \
    } while (0)

static void
test_monotonic(const lp_timer *timer)
{
    int64_t previous = lp_timer_read(timer);
    for (int i = 0; i < 1000000; i++) {
        int64_t now = lp_timer_read(timer);
        CHECK(now >= previous, "the clock went back at reading %d", i);
        previous = now;
    }
}

static void
test_unit_matches_monotonic_clock(const lp_timer *timer)
{
    struct timespec pause = {0, 50 * 1000 * 1000};
    int64_t ticks_before = lp_timer_read(timer);
    int64_t ns_before = lp_monotonic_ns();
    nanosleep(&pause, NULL);
    int64_t ticks = lp_timer_read(timer) - ticks_before;
    int64_t ns = lp_monotonic_ns() - ns_before;
    double measured = (double)ticks * lp_timer_unit(timer) * 1e9;
    double error = (measured - (double)ns) / (double)ns;
    CHECK(error < 0.05 && error > -0.05, "%s: %.0f ns by the timer, %lld ns by the clock",
          lp_timer_name(timer), measured, (long long)ns);
}

int
main(void)
{
    lp_timer timer;
    lp_timer_init(&timer);
    test_monotonic(&timer);
    test_unit_matches_monotonic_clock(&timer);
    printf("timer %s, unit %.3g s: %s\n", lp_timer_name(&timer), lp_timer_unit(&timer),
           failures ? "FAILED" : "ok");
    return failures != 0;
}
