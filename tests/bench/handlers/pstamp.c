/*
 * pstamp - a bench task that writes CLOCK_MONOTONIC in microseconds as a
 * progress line on fd 3, args [N, GAP_MS] times, GAP_MS apart: with a gap
 * over wstaskd's 50 ms each report is sent at once, and the bench
 * subtracts it from the time the `progress` event arrives.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int
main(void)
{
	struct timespec	ts;
	char		buf[64];
	unsigned	n = 10, gap = 60, i;
	int		len;

	if (scanf("[%u,%u]", &n, &gap) != 2)
		return 2;
	for (i = 0; i < n; i++) {
		if (i)
			usleep(gap * 1000);
		if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
			return 1;
		len = snprintf(buf, sizeof(buf), "%lld.%03ld\n",
		    (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000,
		    ts.tv_nsec % 1000);
		if (write(3, buf, (size_t)len) != len)
			return 1;
	}
	puts("null");
	return 0;
}
