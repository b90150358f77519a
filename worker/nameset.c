/*
 * nameset.c - a set of short strings: the batch names a connection has
 * used, and the task ids of one batch while it is validated.
 *
 * Lookups never allocate, so a failed allocation cannot make a name that
 * is in the set look new.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "worker.h"

static int
name_cmp(struct name *a, struct name *b)
{
	return strcmp(a->n_text, b->n_text);
}

RB_GENERATE(name_tree, name, n_node, name_cmp)

/* Adds text; false if it was there already, or with *oom set, no memory. */
bool
nameset_add(struct name_tree *tree, const char *text, bool *oom)
{
	size_t		 len = strlen(text);
	struct name	*n;

	if ((n = malloc(sizeof(*n) + len + 1)) == NULL) {
		log_warn("malloc");
		*oom = true;
		return false;
	}
	memcpy(n->n_text, text, len + 1);
	if (RB_INSERT(name_tree, tree, n) != NULL) {
		free(n);
		return false;
	}
	return true;
}

/* Names longer than NAMESET_MAX are never stored: they are refused first. */
bool
nameset_has(struct name_tree *tree, const char *text)
{
	union {
		struct name	n;
		char		buf[sizeof(struct name) + NAMESET_MAX + 1];
	}		 key;
	size_t		 len = strlen(text);

	if (len > NAMESET_MAX)
		return false;
	memcpy(key.n.n_text, text, len + 1);
	return RB_FIND(name_tree, tree, &key.n) != NULL;
}

void
nameset_clear(struct name_tree *tree)
{
	struct name	*n, *tmp;

	RB_FOREACH_SAFE(n, name_tree, tree, tmp) {
		RB_REMOVE(name_tree, tree, n);
		free(n);
	}
}
