/*
 * TAP output for the in-guest programs: "ok N - ..." lines, then
 * "1..N" and "N passed, N failed".
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 */
#ifndef GUEST_TAP_H
#define GUEST_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int tap_passed, tap_failed, tap_count;

static bool __attribute__((format(printf, 2, 3)))
check(bool ok, const char *fmt, ...)
{
    va_list ap;

    printf("%s %d - ", ok ? "ok" : "not ok", ++tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (ok) {
        tap_passed++;
    } else {
        tap_failed++;
    }
    return ok;
}

/* The closing lines; the exit status. */
static int tap_finish(void)
{
    printf("1..%d\n%d passed, %d failed\n", tap_count, tap_passed,
           tap_failed);
    return tap_failed ? 1 : 0;
}

#endif
