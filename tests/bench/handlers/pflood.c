/*
 * pflood - a bench task that writes args N progress lines
 * {"done":I,"total":N} on fd 3 as fast as a buffered stream can.
 */
#include <stdio.h>

int
main(void)
{
	static char	buf[65536];
	unsigned long	n = 100000, i;
	FILE		*p;

	if (scanf("%lu", &n) != 1 || (p = fdopen(3, "w")) == NULL)
		return 2;
	setvbuf(p, buf, _IOFBF, sizeof(buf));
	for (i = 1; i <= n; i++)
		fprintf(p, "{\"done\":%lu,\"total\":%lu}\n", i, n);
	return fclose(p) == 0 ? 0 : 1;
}
