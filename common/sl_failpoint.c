/* sl_failpoint.c — the failpoint switchboard (see sl_failpoint.h). Compiled to nothing
 * unless SL_FAILPOINTS is defined. */
#include "common/sl_failpoint.h"

#ifdef SL_FAILPOINTS

#include "common/sl_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t fp_once = PTHREAD_ONCE_INIT;
static char fp_names[SL_FAILPOINT_COUNT_MAX][SL_FAILPOINT_NAME_MAX];
static int fp_count;

static void fp_add(const char *name, size_t len) {
    if (len == 0 || len >= SL_FAILPOINT_NAME_MAX || fp_count >= SL_FAILPOINT_COUNT_MAX) return;
    memcpy(fp_names[fp_count], name, len);
    fp_names[fp_count][len] = '\0';
    fp_count++;
}

static void fp_load(void) {
    const char *env = getenv(SL_FAILPOINT_ENV);
    if (!env || !*env) return;
    const char *s = env;
    for (int guard = 0; guard < 256 && *s; guard++) {
        size_t len = strcspn(s, ", ");
        fp_add(s, len);
        s += len;
        s += strspn(s, ", ");
    }
    SL_LOG(SL_WARN, "failpoint", "enabled", "names=%s count=%d", env, fp_count);
}

bool sl_failpoint_on(const char *name) {
    pthread_once(&fp_once, fp_load);
    for (int i = 0; i < fp_count; i++) {
        if (strcmp(fp_names[i], name) == 0) return true;
    }
    return false;
}

#else

/* ISO C wants at least one declaration in a translation unit. */
typedef int sl_failpoint_unused;

#endif
