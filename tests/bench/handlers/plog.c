/*
 * plog - a bench task that writes args N numbered lines of about 60
 * bytes on stderr as fast as a buffered stream can.
 */
#include <stdio.h>

int
main(void)
{
	static char	buf[65536];
	unsigned	n = 2000, i;

	if (scanf("%u", &n) != 1)
		return 2;
	setvbuf(stderr, buf, _IOFBF, sizeof(buf));
	for (i = 1; i <= n; i++)
		fprintf(stderr, "log line %u of the bench, padded to sixty "
		    "bytes or so\n", i);
	return fflush(stderr) == 0 ? 0 : 1;
}
