/*
 * metrics.c - counting what happened, and writing it for Prometheus.
 *
 * The supervisor owns one struct metrics: what it sees itself
 * (connections, refusals, supersedes, sweeps, fork failures) and what its
 * workers report over their control sockets (batches, tasks, durations).
 * metrics_render() writes the text format 0.0.4 with HELP and TYPE for
 * every family, clean under `promtool check metrics`.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

/* Seconds; the last bucket, +Inf, is implied. */
static const double metrics_le[METRICS_NBUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300
};

/* A handler's name as SPEC 3 has it; anything else counts as "other". */
static bool
metrics_name_ok(const char *s)
{
	size_t	len = strnlen(s, 65);

	return len >= 1 && len <= 64 && s[0] != '.' && name_chars_ok(s, len);
}

/* The handler's row, made in sorted place if new; NULL without memory. */
static struct metrics_handler *
metrics_handler(struct metrics *m, const char *name)
{
	struct metrics_handler	*v;
	size_t			 lo = 0, hi = m->m_nhandlers, mid;
	int			 c;

	if (!metrics_name_ok(name) || (m->m_nhandlers >= METRICS_HANDLERS &&
	    strcmp(name, "other") != 0))
		return metrics_handler(m, "other");
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((c = strcmp(name, m->m_handlers[mid].mh_name)) == 0)
			return &m->m_handlers[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	v = reallocarray(m->m_handlers, m->m_nhandlers + 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	m->m_handlers = v;
	memmove(&v[lo + 1], &v[lo], (m->m_nhandlers - lo) * sizeof(*v));
	memset(&v[lo], 0, sizeof(*v));
	strlcpy(v[lo].mh_name, name, sizeof(v[lo].mh_name));
	m->m_nhandlers++;
	return &v[lo];
}

/* n tasks of handler ended so; a finished one (n 1) took seconds. */
void
metrics_task(struct metrics *m, const char *handler, enum metrics_task outcome,
    uint64_t n, double seconds)
{
	struct metrics_handler	*h;
	size_t			 b;

	if ((h = metrics_handler(m, handler)) == NULL || outcome >=
	    TASK_NOUTCOMES)
		return;
	h->mh_tasks[outcome] += n;
	if (outcome == TASK_CANCELLED)
		return;
	for (b = 0; b < METRICS_NBUCKETS && seconds > metrics_le[b]; b++)
		;
	if (b < METRICS_NBUCKETS)
		h->mh_buckets[b]++;
	h->mh_count++;
	h->mh_sum += seconds;
}

static void
metrics_family(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metrics_labelled(FILE *fp, const char *name, const char *label,
    const char *const *values, const uint64_t *counts, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		fprintf(fp, "%s{%s=\"%s\"} %llu\n", name, label, values[i],
		    (unsigned long long)counts[i]);
}

static void
metrics_gauges(FILE *fp, const struct metrics_gauges *g)
{
	static const char *const states[MW_NSTATES] = {
		"spare", "connection", "session", "draining"
	};
	uint64_t	w[MW_NSTATES];
	size_t		i;

	metrics_family(fp, "wstaskd_sessions", "gauge",
	    "Sessions granted and not over.");
	fprintf(fp, "wstaskd_sessions %u\n", g->g_sessions);
	metrics_family(fp, "wstaskd_workers", "gauge",
	    "Worker processes by state.");
	for (i = 0; i < MW_NSTATES; i++)
		w[i] = g->g_workers[i];
	metrics_labelled(fp, "wstaskd_workers", "state", states, w, MW_NSTATES);
	metrics_family(fp, "wstaskd_tasks_running", "gauge",
	    "Task processes running.");
	fprintf(fp, "wstaskd_tasks_running %u\n", g->g_tasks_running);
}

static void
metrics_counters(FILE *fp, const struct metrics *m)
{
	static const char *const refused[REFUSED_NREASONS] = {
		"max_sessions", "fork", "shutdown", "draining"
	};
	static const char *const batches[BATCH_NOUTCOMES] = {
		"done", "cancelled", "rejected"
	};

	metrics_family(fp, "wstaskd_connections_total", "counter",
	    "Connections handed to a worker.");
	fprintf(fp, "wstaskd_connections_total %llu\n",
	    (unsigned long long)m->m_connections);
	metrics_family(fp, "wstaskd_refused_total", "counter",
	    "Connections refused, by reason.");
	metrics_labelled(fp, "wstaskd_refused_total", "reason", refused,
	    m->m_refused, REFUSED_NREASONS);
	metrics_family(fp, "wstaskd_supersedes_total", "counter",
	    "Sessions ended by a newer connection with the same id.");
	fprintf(fp, "wstaskd_supersedes_total %llu\n",
	    (unsigned long long)m->m_supersedes);
	metrics_family(fp, "wstaskd_batches_total", "counter",
	    "Batches by outcome.");
	metrics_labelled(fp, "wstaskd_batches_total", "outcome", batches,
	    m->m_batches, BATCH_NOUTCOMES);
	metrics_family(fp, "wstaskd_orphans_swept_total", "counter",
	    "Processes of crashed workers killed by the crash sweep.");
	fprintf(fp, "wstaskd_orphans_swept_total %llu\n",
	    (unsigned long long)m->m_orphans);
	metrics_family(fp, "wstaskd_fork_failures_total", "counter",
	    "Failed forks of a worker.");
	fprintf(fp, "wstaskd_fork_failures_total %llu\n",
	    (unsigned long long)m->m_fork_failures);
}

static void
metrics_handlers(FILE *fp, const struct metrics *m)
{
	static const char *const outcomes[TASK_NOUTCOMES] = {
		"ok", "failed", "cancelled"
	};
	const struct metrics_handler	*h;
	uint64_t			 cum;
	size_t				 i, o, b;

	metrics_family(fp, "wstaskd_tasks_total", "counter",
	    "Tasks by handler and outcome.");
	for (i = 0; i < m->m_nhandlers; i++)
		for (o = 0, h = &m->m_handlers[i]; o < TASK_NOUTCOMES; o++)
			fprintf(fp, "wstaskd_tasks_total{handler=\"%s\","
			    "outcome=\"%s\"} %llu\n", h->mh_name, outcomes[o],
			    (unsigned long long)h->mh_tasks[o]);
	metrics_family(fp, "wstaskd_task_duration_seconds", "histogram",
	    "Run time of finished tasks.");
	for (i = 0; i < m->m_nhandlers; i++) {
		h = &m->m_handlers[i];
		for (b = 0, cum = 0; b < METRICS_NBUCKETS; b++) {
			cum += h->mh_buckets[b];
			fprintf(fp, "wstaskd_task_duration_seconds_bucket{handler="
			    "\"%s\",le=\"%g\"} %llu\n", h->mh_name, metrics_le[b],
			    (unsigned long long)cum);
		}
		fprintf(fp, "wstaskd_task_duration_seconds_bucket{handler=\"%s\","
		    "le=\"+Inf\"} %llu\n", h->mh_name,
		    (unsigned long long)h->mh_count);
		fprintf(fp, "wstaskd_task_duration_seconds_sum{handler=\"%s\"} "
		    "%.6f\n", h->mh_name, h->mh_sum);
		fprintf(fp, "wstaskd_task_duration_seconds_count{handler=\"%s\"} "
		    "%llu\n", h->mh_name, (unsigned long long)h->mh_count);
	}
}

/* The page, malloc'd; NULL when out of memory. */
char *
metrics_render(const struct metrics *m, const struct metrics_gauges *g,
    const char *version, size_t *len)
{
	char	*buf = NULL;
	FILE	*fp;

	if ((fp = open_memstream(&buf, len)) == NULL)
		return NULL;
	metrics_family(fp, "wstaskd_build_info", "gauge",
	    "Always 1; the version is a label.");
	fprintf(fp, "wstaskd_build_info{version=\"%s\"} 1\n", version);
	metrics_family(fp, "wstaskd_start_time_seconds", "gauge",
	    "When the daemon started, in seconds since the epoch.");
	fprintf(fp, "wstaskd_start_time_seconds %.3f\n", m->m_start);
	metrics_gauges(fp, g);
	metrics_counters(fp, m);
	metrics_handlers(fp, m);
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

void
metrics_free(struct metrics *m)
{
	free(m->m_handlers);
	m->m_handlers = NULL;
	m->m_nhandlers = 0;
}
