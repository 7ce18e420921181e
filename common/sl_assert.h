/* sl_assert.h — assertions.
 *
 * SL_ASSERT is compiled into every build: on failure it logs the expression, file, line
 * and a backtrace to stderr, then aborts. Use it for invariants whose violation could
 * lose or corrupt data. Never assert on bytes from the network, a file or a config.
 * SL_DASSERT exists only in debug/sanitizer builds (SL_DEBUG_BUILD), for O(n) checks.
 * SL_NEVER(x) is true when x holds; it aborts in debug builds, and lets release builds
 * fail just the one request: `if (SL_NEVER(idx >= n)) return SL_E_INTERNAL;`. */
#ifndef SL_ASSERT_H
#define SL_ASSERT_H

#include <stdbool.h>

_Noreturn void sl_assert_fail(const char *expr, const char *file, int line);

#define SL_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (__builtin_expect(!(cond), 0)) sl_assert_fail(#cond, __FILE__, __LINE__);               \
    } while (0)

#ifdef SL_DEBUG_BUILD
#define SL_DASSERT(cond) SL_ASSERT(cond)
#define SL_NEVER(cond)   ((cond) ? (sl_assert_fail(#cond, __FILE__, __LINE__), true) : false)
#else
#define SL_DASSERT(cond) ((void)0)
#define SL_NEVER(cond)   (__builtin_expect(!!(cond), 0))
#endif

#endif
