/*
 * hold - a bench task that runs until SIGTERM and dies of it at once.
 *
 * It keeps SIGTERM's default disposition (wstaskd gives handlers default
 * dispositions and an empty mask), so a cancel ends it without a trip
 * through user space.  alarm() bounds its life should anything go wrong.
 */
#include <unistd.h>

int
main(void)
{
	alarm(300);
	for (;;)
		pause();
}
