/* sl_log.h — leveled logging, one line per event, key=value fields.
 *
 *   ts=2026-11-24T10:00:00.123Z level=info mod=storage event=segment_roll topic=t1 partition=3
 *
 * SL_LOG tests the level before evaluating its arguments. Event names are stable,
 * lowercase and grep-able; fields follow as a printf format of key=value pairs.
 * Globals (set at start-up, then read-only by convention; see sl_log_configure):
 * the level, the per-module debug set, the output fd and the node name. */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <stdbool.h>

enum sl_log_level {
    SL_ERROR = 0, /* an operator must act */
    SL_WARN = 1,  /* degraded, recovering by itself */
    SL_INFO = 2,  /* state changes */
    SL_DEBUG = 3, /* per request */
    SL_TRACE = 4,
};

extern int sl_log_level_g;       /* messages above this level are dropped */
extern bool sl_log_modules_set_g; /* true when log.debug names some modules */

/* Set the global level; modules_csv ("raft,storage") enables debug+trace for those
 * modules only ("" or NULL = none; "all" = every module). Not thread-safe: call at
 * start-up. Returns 0, or -1 if level_name is unknown. */
int sl_log_configure(const char *level_name, const char *modules_csv);
/* Log to this file (appended) instead of stderr; NULL = stderr. Returns 0 or -errno. */
int sl_log_open_file(const char *path);
/* A name added to every line as node=… (e.g. "broker-1"); NULL for none. */
void sl_log_set_node(const char *name);
/* Parse "error|warn|info|debug|trace"; returns -1 when unknown. */
int sl_log_parse_level(const char *name);

bool sl_log_module_enabled(int level, const char *mod);
void sl_log_write(int level, const char *mod, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define SL_LOG(level, mod, event, ...)                                                             \
    do {                                                                                           \
        if ((level) <= sl_log_level_g ||                                                           \
            (sl_log_modules_set_g && sl_log_module_enabled((level), (mod))))                       \
            sl_log_write((level), (mod), (event), __VA_ARGS__);                                    \
    } while (0)

#endif
