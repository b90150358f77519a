/*
 * tap.h - TAP output for the C unit tests (tests/unit_*.c): ok() prints
 * one test line; main() prints the plan and exits nonzero on n_failed.
 */
#ifndef WSTASKD_TESTS_TAP_H
#define WSTASKD_TESTS_TAP_H

#include <stdio.h>

static int	n_test, n_failed;

static void
ok(int cond, const char *desc)
{
	n_test++;
	if (!cond)
		n_failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n_test, desc);
}

#endif
