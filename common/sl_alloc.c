/* sl_alloc.c — allocation wrappers, the assertion handler and sl_strerror. */
#include "common/sl_alloc.h"
#include "common/sl_assert.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Noreturn void alloc_fail(size_t size) {
    SL_LOG(SL_ERROR, "alloc", "out_of_memory", "size=%zu", size);
    abort();
}

void *sl_malloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) alloc_fail(size);
    return p;
}

void *sl_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) alloc_fail(count * size);
    return p;
}

void *sl_realloc(void *ptr, size_t size) {
    void *p = realloc(ptr, size ? size : 1);
    if (!p) alloc_fail(size);
    return p;
}

char *sl_strdup(const char *s) {
    return sl_strndup(s, strlen(s));
}

char *sl_strndup(const char *s, size_t len) {
    char *p = sl_malloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void sl_free(void *ptr) {
    free(ptr);
}

_Noreturn void sl_assert_fail(const char *expr, const char *file, int line) {
    SL_LOG(SL_ERROR, "assert", "assertion_failed", "expr=\"%s\" at=%s:%d", expr, file, line);
    void *frames[64];
    int n = backtrace(frames, 64);
    backtrace_symbols_fd(frames, n, 2);
    abort();
}

const char *sl_strerror(int err) {
    switch (err) {
    case SL_OK:
        return "ok";
    case SL_AGAIN:
        return "again";
    case SL_E_SHORT:
        return "short input";
    case SL_E_CORRUPT:
        return "corrupt";
    case SL_E_TOO_LARGE:
        return "too large";
    case SL_E_INVALID:
        return "invalid";
    case SL_E_NOT_FOUND:
        return "not found";
    case SL_E_EXISTS:
        return "exists";
    case SL_E_UNSUPPORTED:
        return "unsupported";
    case SL_E_INTERNAL:
        return "internal error";
    case SL_E_CONFIG:
        return "bad configuration";
    case SL_E_STATE:
        return "illegal state";
    case SL_E_FATAL:
        return "failed earlier (fail-stop)";
    case SL_E_RANGE:
        return "out of range";
    case SL_E_TIMEOUT:
        return "timed out";
    case SL_E_CLOSED:
        return "closed";
    case SL_E_FENCED:
        return "fenced";
    default:
        break;
    }
    if (err < 0 && err > -4096) return strerror(-err);
    return "unknown error";
}
