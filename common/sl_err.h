/* sl_err.h — the one table of internal error codes.
 *
 * Fallible functions return int: SL_OK (0), a negative errno from a system call
 * (-ENOENT, -ENOSPC …), or a negative SL_E_* code below. SL_E_* are numbered from
 * -1000 down so they never collide with an errno. SL_AGAIN (positive) means
 * "need more bytes / try later" and is not an error.
 * Kafka's own error codes (int16, positive) are a separate type in protocol/. */
#ifndef SL_ERR_H
#define SL_ERR_H

#include "common/sl_log.h"

#define SL_OK    0
#define SL_AGAIN 1 /* resumable: more input needed, not an error */

enum {
    SL_E_SHORT = -1000,     /* input ended before a complete value */
    SL_E_CORRUPT = -1001,   /* bytes do not form a valid value (bad CRC, length, magic) */
    SL_E_TOO_LARGE = -1002, /* a size exceeds a configured or structural limit */
    SL_E_INVALID = -1003,   /* argument or request is not acceptable */
    SL_E_NOT_FOUND = -1004, /* no such object */
    SL_E_EXISTS = -1005,    /* object already exists */
    SL_E_UNSUPPORTED = -1006, /* version, codec or feature not supported */
    SL_E_INTERNAL = -1007,  /* an invariant failed; confined to one request */
    SL_E_CONFIG = -1008,    /* configuration invalid */
    SL_E_STATE = -1009,     /* operation illegal in the current state */
    SL_E_FATAL = -1010,     /* object failed earlier (fail-stop); refuses all work */
    SL_E_RANGE = -1011,     /* offset or index outside the valid range */
    SL_E_TIMEOUT = -1012,   /* deadline passed */
    SL_E_CLOSED = -1013,    /* peer or object closed */
    SL_E_FENCED = -1014,    /* stale epoch or generation */
};

/* Name of an SL_* code or errno. Never NULL. Thread-safe. */
const char *sl_strerror(int err);

/* Return err from the enclosing function when cond holds; logs the caller's fields and
 * file:line at debug. fmt is a printf format of key=value fields ("" for none). */
#define SL_RETURN_IF(cond, err, fmt, ...)                                                          \
    do {                                                                                           \
        if (cond) {                                                                                \
            SL_LOG(SL_DEBUG, "err", "return", fmt " at=%s:%d err=%s", ##__VA_ARGS__, __FILE__,    \
                   __LINE__, sl_strerror(err));                                                    \
            return (err);                                                                          \
        }                                                                                          \
    } while (0)

/* Evaluate expr; if it is negative, return it from the enclosing function. */
#define SL_TRY(expr)                                                                               \
    do {                                                                                           \
        int sl_try_rc_ = (expr);                                                                   \
        if (sl_try_rc_ < 0) {                                                                      \
            SL_LOG(SL_DEBUG, "err", "forward", "at=%s:%d err=%s", __FILE__, __LINE__,              \
                   sl_strerror(sl_try_rc_));                                                       \
            return sl_try_rc_;                                                                     \
        }                                                                                          \
    } while (0)

#endif
