/* sl_view.h — borrowed views of strings and bytes.
 * A view never owns its memory and is never assumed NUL-terminated. len < 0 means
 * null (Kafka's nullable strings/bytes); len == 0 with any ptr is the empty value. */
#ifndef SL_VIEW_H
#define SL_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef struct sl_str {
    const char *ptr;
    int32_t len; /* -1 = null */
} sl_str;

typedef struct sl_bytes {
    const uint8_t *ptr;
    int32_t len; /* -1 = null */
} sl_bytes;

#define SL_STR_NULL   ((sl_str){ NULL, -1 })
#define SL_BYTES_NULL ((sl_bytes){ NULL, -1 })

static inline sl_str sl_str_c(const char *s) {
    return s ? (sl_str){ s, (int32_t)strlen(s) } : SL_STR_NULL;
}

static inline bool sl_str_is_null(sl_str s) {
    return s.len < 0;
}

static inline bool sl_str_eq(sl_str a, sl_str b) {
    if (a.len != b.len) return false;
    return a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0;
}

static inline bool sl_str_eq_c(sl_str a, const char *c) {
    return sl_str_eq(a, sl_str_c(c));
}

#endif
