/*
 * stamp - a bench task that prints CLOCK_MONOTONIC in microseconds (with
 * a fraction) and exits right after: the bench subtracts it from the time
 * its `result` arrives, on the same clock.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int
main(void)
{
	struct timespec	ts;
	char		buf[64];
	int		n;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		_exit(1);
	n = snprintf(buf, sizeof(buf), "%lld.%03ld\n",
	    (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000,
	    ts.tv_nsec % 1000);
	_exit(write(1, buf, (size_t)n) == n ? 0 : 1);
}
