/*
 * metrics.h - the figures of GET /metrics (SPEC 9.1), kept by the
 * supervisor and written in the Prometheus text format 0.0.4.
 *
 * Counters only grow; gauges are the supervisor's state of the moment,
 * given at render time.  Handler labels come from workers, so they are
 * bounded: only valid handler names, at most METRICS_HANDLERS of them
 * (further names count under the label "other").
 */
#ifndef WSTASKD_METRICS_H
#define WSTASKD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_HANDLERS	512
#define METRICS_NBUCKETS	14

enum metrics_refused {
	REFUSED_MAX_SESSIONS = 0, REFUSED_FORK, REFUSED_SHUTDOWN,
	REFUSED_DRAINING, REFUSED_NREASONS
};
enum metrics_batch {
	BATCH_DONE = 0, BATCH_CANCELLED, BATCH_REJECTED, BATCH_NOUTCOMES
};
enum metrics_task {
	TASK_OK = 0, TASK_FAILED, TASK_CANCELLED, TASK_NOUTCOMES
};
enum metrics_wstate {
	MW_SPARE = 0, MW_CONNECTION, MW_SESSION, MW_DRAINING, MW_NSTATES
};

struct metrics_handler {
	char		 mh_name[65];
	uint64_t	 mh_tasks[TASK_NOUTCOMES];
	uint64_t	 mh_buckets[METRICS_NBUCKETS];	/* not cumulative */
	uint64_t	 mh_count;			/* finished */
	double		 mh_sum;			/* seconds */
};

struct metrics {
	double		 m_start;		/* unix time */
	uint64_t	 m_connections;
	uint64_t	 m_refused[REFUSED_NREASONS];
	uint64_t	 m_supersedes;
	uint64_t	 m_batches[BATCH_NOUTCOMES];
	uint64_t	 m_orphans;
	uint64_t	 m_fork_failures;
	struct metrics_handler *m_handlers;	/* sorted by name */
	size_t		 m_nhandlers;
};

struct metrics_gauges {
	unsigned	 g_sessions;
	unsigned	 g_workers[MW_NSTATES];
	unsigned	 g_tasks_running;
};

void		 metrics_task(struct metrics *m, const char *handler,
		    enum metrics_task outcome, uint64_t n, double seconds);
char		*metrics_render(const struct metrics *m,
		    const struct metrics_gauges *g, const char *version,
		    size_t *len);
void		 metrics_free(struct metrics *m);

#endif
