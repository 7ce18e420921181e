/* tools_test_main.c — runs the tools Check suite (tools_test.c) as its own binary,
 * $(B)/bin/tools-unit-tests. Select and debug as with tests/unit: CK_RUN_CASE, CK_FORK=no. */
#include "common/sl_log.h"

#include <check.h>
#include <stdlib.h>

Suite *tools_suite(void);

int main(void) {
    sl_log_configure("error", NULL);
    SRunner *sr = srunner_create(tools_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
