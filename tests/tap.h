/*
 * tap.h - the TAP line of the C unit tests (tests/unit_*.c): each calls
 * ok() once per test and prints "1..N" from n_test at the end.
 */
#ifndef WSTASKD_TAP_H
#define WSTASKD_TAP_H

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
