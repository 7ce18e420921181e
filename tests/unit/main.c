/* tests/unit/main.c — runs every Check suite (the list is generated from the
 * tests/unit/test_*.c files present). Select with CK_RUN_SUITE / CK_RUN_CASE;
 * debug with CK_FORK=no. */
#include "common/sl_log.h"

#include <check.h>
#include <stdlib.h>

#define SUITE(name) Suite *name##_suite(void);
#include "unit_suites.h"
#undef SUITE

int main(void) {
    /* keep test output readable: only errors unless SL_TEST_LOG says otherwise */
    const char *level = getenv("SL_TEST_LOG");
    sl_log_configure(level ? level : "error", NULL);
    SRunner *sr = srunner_create(NULL);
#define SUITE(name) srunner_add_suite(sr, name##_suite());
#include "unit_suites.h"
#undef SUITE
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
