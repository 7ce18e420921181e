/* sl_log.c — see sl_log.h. Each line is formatted into a stack buffer and written
 * with one write(2), so lines from several threads never interleave. */
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SL_LOG_LINE_MAX     4096 /* longer lines are cut and end in "…" */
#define SL_LOG_MODULES_MAX  16
#define SL_LOG_MODULE_CHARS 24

int sl_log_level_g = SL_INFO;
bool sl_log_modules_set_g = false;

static int log_fd_g = 2;
static char log_node_g[64];
static char log_modules_g[SL_LOG_MODULES_MAX][SL_LOG_MODULE_CHARS];
static int log_module_count_g;
static bool log_modules_all_g;

static const char *const level_names[] = { "error", "warn", "info", "debug", "trace" };

int sl_log_parse_level(const char *name) {
    for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++) {
        if (strcmp(name, level_names[i]) == 0) return i;
    }
    return -1;
}

int sl_log_configure(const char *level_name, const char *modules_csv) {
    if (level_name) {
        int level = sl_log_parse_level(level_name);
        if (level < 0) return -1;
        sl_log_level_g = level;
    }
    log_module_count_g = 0;
    log_modules_all_g = false;
    const char *p = modules_csv ? modules_csv : "";
    while (*p && log_module_count_g < SL_LOG_MODULES_MAX) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len > 0 && len < SL_LOG_MODULE_CHARS) {
            memcpy(log_modules_g[log_module_count_g], p, len);
            log_modules_g[log_module_count_g][len] = '\0';
            if (strcmp(log_modules_g[log_module_count_g], "all") == 0) log_modules_all_g = true;
            log_module_count_g++;
        }
        if (!comma) break;
        p = comma + 1;
    }
    sl_log_modules_set_g = log_module_count_g > 0;
    return 0;
}

int sl_log_open_file(const char *path) {
    if (!path) {
        log_fd_g = 2;
        return 0;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    if (log_fd_g > 2) close(log_fd_g);
    log_fd_g = fd;
    return 0;
}

void sl_log_set_node(const char *name) {
    snprintf(log_node_g, sizeof(log_node_g), "%s", name ? name : "");
}

bool sl_log_module_enabled(int level, const char *mod) {
    if (level <= sl_log_level_g) return true;
    if (level < SL_DEBUG) return false;
    if (log_modules_all_g) return true;
    for (int i = 0; i < log_module_count_g; i++) {
        if (strcmp(log_modules_g[i], mod) == 0) return true;
    }
    return false;
}

void sl_log_write(int level, const char *mod, const char *event, const char *fmt, ...) {
    char line[SL_LOG_LINE_MAX];
    char ts[32];
    sl_time_format_iso(sl_wall_ms(), ts, sizeof(ts));
    if (level < 0 || level > SL_TRACE) level = SL_TRACE;
    int n;
    if (log_node_g[0]) {
        n = snprintf(line, sizeof(line), "ts=%s level=%s node=%s mod=%s event=%s", ts,
                     level_names[level], log_node_g, mod, event);
    } else {
        n = snprintf(line, sizeof(line), "ts=%s level=%s mod=%s event=%s", ts,
                     level_names[level], mod, event);
    }
    if (n < 0) return;
    size_t used = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    if (fmt && fmt[0] && used + 2 < sizeof(line)) {
        line[used++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + used, sizeof(line) - used, fmt, ap);
        va_end(ap);
        if (m > 0) used += (size_t)m < sizeof(line) - used ? (size_t)m : sizeof(line) - used - 1;
    }
    if (used >= sizeof(line) - 1) {
        used = sizeof(line) - 5;
        memcpy(line + used, "...", 3);
        used += 3;
    }
    line[used++] = '\n';
    /* A failed log write has nowhere to be reported; the loop only finishes partial writes. */
    size_t off = 0;
    for (int tries = 0; off < used && tries < 8; tries++) {
        ssize_t w = write(log_fd_g, line + off, used - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
}
