/* sl_alloc.h — allocation that never returns NULL.
 *
 * Every binary links jemalloc, which replaces malloc; these wrappers abort with a log
 * line on exhaustion, so callers never test for NULL. Memory limits are enforced by
 * accounting (request size caps, queue caps), not by checking allocation results. */
#ifndef SL_ALLOC_H
#define SL_ALLOC_H

#include <stddef.h>

void *sl_malloc(size_t size);
void *sl_calloc(size_t count, size_t size);
void *sl_realloc(void *ptr, size_t size);
char *sl_strdup(const char *s);
char *sl_strndup(const char *s, size_t len);
void sl_free(void *ptr); /* sl_free(NULL) is a no-op */

/* Allocate one zeroed T. */
#define SL_NEW(T) ((T *)sl_calloc(1, sizeof(T)))

#endif
