/*
 * nop - the bench's trivial task: exits 0 at once.  The throughput
 * measurement runs it through wstaskd, through a posix_spawn loop and
 * through xargs, so the three rates compare the same work.
 */
int
main(void)
{
	return 0;
}
