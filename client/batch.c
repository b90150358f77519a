/*
 * batch.c - builds the run message (SPEC 2.2) that wstask sends.
 *
 * From the command line each TASK is NAME (a bare string task) or
 * NAME=ARGS, where ARGS must be one whole JSON value; with -f the file (or
 * stdin) holds a tasks array or a whole run object.  What the server alone
 * can judge (handler names, ids, limits) is left to it: a refused batch is
 * its error event, and exit status 2.  What wstask can tell is wrong here
 * never reaches the network.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "log.h"

#define BATCH_FILE_MAX	(64u << 20)	/* far above any --max-message */

static cJSON *
batch_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return NULL;
}

/* NAME or NAME=ARGS as a task of the tasks array. */
static cJSON *
batch_task(const char *arg, char *err, size_t errlen)
{
	const char	*eq = strchr(arg, '=');
	cJSON		*task, *args;
	char		*name;

	if (eq == arg || *arg == '\0')
		return batch_fail(err, errlen, "%s: no handler name", arg);
	if (eq == NULL)
		return cJSON_CreateString(arg);
	args = cJSON_ParseWithOpts(eq + 1, NULL, 1);
	if (args == NULL)
		return batch_fail(err, errlen, "%s: ARGS is not JSON "
		    "(quote a string: NAME='\"text\"')", arg);
	if ((name = strndup(arg, (size_t)(eq - arg))) == NULL ||
	    (task = cJSON_CreateObject()) == NULL) {
		free(name);
		cJSON_Delete(args);
		return batch_fail(err, errlen, "out of memory");
	}
	if (cJSON_AddStringToObject(task, "task", name) == NULL ||
	    !cJSON_AddItemToObject(task, "args", args)) {
		cJSON_Delete(args);	/* not in task: added last */
		cJSON_Delete(task);
		task = batch_fail(err, errlen, "out of memory");
	}
	free(name);
	return task;
}

static cJSON *
batch_new(cJSON *tasks)
{
	cJSON	*run = cJSON_CreateObject();

	if (run == NULL || cJSON_AddStringToObject(run, "type", "run") == NULL ||
	    !cJSON_AddItemToObject(run, "tasks", tasks)) {
		cJSON_Delete(run);
		cJSON_Delete(tasks);
		return NULL;
	}
	return run;
}

cJSON *
batch_from_args(char **args, int n, char *err, size_t errlen)
{
	cJSON	*tasks = cJSON_CreateArray(), *t, *run;
	int	 i;

	if (tasks == NULL)
		return batch_fail(err, errlen, "out of memory");
	for (i = 0; i < n; i++) {
		if ((t = batch_task(args[i], err, errlen)) == NULL) {
			cJSON_Delete(tasks);
			return NULL;
		}
		if (!cJSON_AddItemToArray(tasks, t)) {
			cJSON_Delete(t);
			cJSON_Delete(tasks);
			return batch_fail(err, errlen, "out of memory");
		}
	}
	if ((run = batch_new(tasks)) == NULL)
		return batch_fail(err, errlen, "out of memory");
	return run;
}

/* The whole of fd, NUL-terminated; NULL with err set. */
static char *
batch_slurp(int fd, const char *path, char *err, size_t errlen)
{
	size_t	 len = 0, cap = 0;
	char	*buf = NULL, *nb;
	ssize_t	 r;

	for (;;) {
		if (len + 1 >= cap) {
			cap = cap ? 2 * cap : 65536;
			if (cap > BATCH_FILE_MAX || (nb = realloc(buf, cap)) == NULL) {
				free(buf);
				batch_fail(err, errlen, "%s: %s", path,
				    cap > BATCH_FILE_MAX ? "too large" :
				    "out of memory");
				return NULL;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			batch_fail(err, errlen, "%s: read: %s", path,
			    strerror(errno));
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	return buf;
}

/* A tasks array becomes a run; a run object is taken as it is. */
static cJSON *
batch_from_json(cJSON *v, const char *path, char *err, size_t errlen)
{
	cJSON	*type, *run;

	if (cJSON_IsArray(v)) {
		if ((run = batch_new(v)) == NULL)
			return batch_fail(err, errlen, "out of memory");
		return run;
	}
	if (!cJSON_IsObject(v) || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(v,
	    "tasks"))) {
		cJSON_Delete(v);
		return batch_fail(err, errlen, "%s: neither a tasks array nor "
		    "a run object with a tasks array", path);
	}
	type = cJSON_GetObjectItemCaseSensitive(v, "type");
	if (type == NULL && cJSON_AddStringToObject(v, "type", "run") == NULL) {
		cJSON_Delete(v);
		return batch_fail(err, errlen, "out of memory");
	}
	if (type && (!cJSON_IsString(type) || strcmp(type->valuestring, "run"))) {
		cJSON_Delete(v);
		return batch_fail(err, errlen, "%s: \"type\" is not \"run\"",
		    path);
	}
	return v;
}

cJSON *
batch_from_file(const char *path, char *err, size_t errlen)
{
	bool	 in = strcmp(path, "-") == 0;
	int	 fd = in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	char	*text;
	cJSON	*v;

	if (fd < 0)
		return batch_fail(err, errlen, "%s: %s", path, strerror(errno));
	text = batch_slurp(fd, in ? "stdin" : path, err, errlen);
	if (!in && close(fd) < 0)
		log_warn("close %s", path);
	if (text == NULL)
		return NULL;
	v = cJSON_ParseWithOpts(text, NULL, 1);
	free(text);
	if (v == NULL)
		return batch_fail(err, errlen, "%s: not JSON",
		    in ? "stdin" : path);
	return batch_from_json(v, in ? "stdin" : path, err, errlen);
}

static int
batch_put(cJSON *run, const char *key, cJSON *v)
{
	if (v == NULL)
		return -1;
	if (cJSON_HasObjectItem(run, key))
		return cJSON_ReplaceItemInObjectCaseSensitive(run, key, v) ?
		    0 : (cJSON_Delete(v), -1);
	return cJSON_AddItemToObject(run, key, v) ? 0 : (cJSON_Delete(v), -1);
}

/* -l N and --log, over what a -f run object says; 0 and false: leave it. */
int
batch_set(cJSON *run, long limit, bool log)
{
	if (limit > 0 && batch_put(run, "limit",
	    cJSON_CreateNumber((double)limit)))
		return -1;
	if (log && batch_put(run, "log", cJSON_CreateTrue()))
		return -1;
	return 0;
}

/* A task's id as the server will name it (given, or its index), or NULL. */
char *
batch_task_id(const cJSON *task, size_t index)
{
	const cJSON	*id = cJSON_GetObjectItemCaseSensitive(task, "id");
	char		*s;
	int		 n;

	if (cJSON_IsObject(task) && cJSON_IsString(id))
		return strdup(id->valuestring);
	if (cJSON_IsObject(task) && cJSON_IsNumber(id) &&
	    id->valuedouble == trunc(id->valuedouble))
		n = asprintf(&s, "%.0f", id->valuedouble);
	else
		n = asprintf(&s, "%zu", index);
	return n < 0 ? NULL : s;
}

const char *
batch_task_name(const cJSON *task)
{
	const cJSON	*t = cJSON_GetObjectItemCaseSensitive(task, "task");

	if (cJSON_IsString(task))
		return task->valuestring;
	return cJSON_IsString(t) ? t->valuestring : "?";
}
