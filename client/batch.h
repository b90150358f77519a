/*
 * batch.h - the one run message wstask sends, from TASK arguments or -f.
 */
#ifndef WSTASK_BATCH_H
#define WSTASK_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#define BATCH_NAME_MAX	64	/* room for a batch name as shown */

cJSON		*batch_from_args(char **tasks, int n, char *err, size_t errlen);
cJSON		*batch_from_file(const char *path, char *err, size_t errlen);
int		 batch_set(cJSON *run, long limit, bool log);
char		*batch_task_id(const cJSON *task, size_t index);
const char	*batch_task_name(const cJSON *task);

#endif
