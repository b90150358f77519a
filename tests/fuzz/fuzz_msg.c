/*
 * fuzz_msg.c - libFuzzer target: the supervisor <-> worker record decoder
 * and its state table, and the other parsers of common/ that take bytes
 * from outside (session keys, origins).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "origin.h"
#include "session_id.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct origin	 o;
	struct msg	 m;
	char		 err[128], *text;
	int		 s, t;

	if (msg_decode(data, size, &m, err, sizeof(err)) == 0) {
		/* A decoded record is consistent with its own header. */
		if (m.len != size - MSG_HDR_LEN || m.data[m.len] != '\0')
			abort();
		for (s = 0; s < WS_MAX; s++)
			(void)msg_allowed(m.type, (enum wstate)s, s & 1);
	}
	for (t = 0; t < MSG_TYPE_MAX + 2; t++)
		(void)msg_type_name(t);
	(void)session_key_valid((const char *)data, size);
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (origin_parse(text, &o) == 0)
		(void)origin_matches_host(&o, text);
	free(text);
	return 0;
}
