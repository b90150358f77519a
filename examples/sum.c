/*
 * sum - a wstaskd(7) handler in C.
 * args: a JSON array of numbers, e.g. [1, 2.5, -3].
 * value: {"count":3,"sum":0.5}
 *
 *	cc -O2 -Wall -Wextra -o /usr/local/libexec/wstaskd/sum sum.c
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static char	args[1 << 20];

static int
fail(const char *why)
{
	fprintf(stderr, "sum: %s\n", why);	/* the result's "stderr" */
	return 2;				/* "exit":2, "ok":false */
}

int
main(void)
{
	size_t	 len, count = 0;
	double	 v, sum = 0;
	char	*p = args, *end;

	len = fread(args, 1, sizeof(args) - 1, stdin);
	if (ferror(stdin) || !feof(stdin))
		return fail("cannot read args, or more than 1 MiB of them");
	args[len] = '\0';
	while (isspace((unsigned char)*p))
		p++;
	if (*p++ != '[')
		return fail("args must be a JSON array of numbers");
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == ']' && count == 0)
			break;
		if (*p != '-' && !isdigit((unsigned char)*p))
			return fail("args must be a JSON array of numbers");
		errno = 0;
		v = strtod(p, &end);
		if (errno == ERANGE || !isfinite(v))
			return fail("a number is out of range");
		sum += v;
		count++;
		for (p = end; isspace((unsigned char)*p); p++)
			;
		if (*p == ']')
			break;
		if (*p++ != ',')
			return fail("args must be a JSON array of numbers");
	}
	if (!isfinite(sum))
		return fail("the sum is out of range");
	printf("{\"count\":%zu,\"sum\":%.17g}\n", count, sum);
	return fflush(stdout) == 0 ? 0 : 1;
}
