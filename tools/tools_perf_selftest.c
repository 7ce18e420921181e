/* tools_perf_selftest.c — `sluice perf-selftest` (hidden): start an in-process librdkafka
 * mock cluster, run producer-perf-test against it, then consume the same records back with
 * consumer-perf-test — both through their normal entry points, in one process (the mock
 * brokers live inside it). Used by the integration test and to measure what the tools
 * themselves can push on a machine.
 *
 *   sluice perf-selftest [--brokers N] [--partitions P] [--replication-factor R]
 *       -- <producer-perf-test options> [-- <extra consumer-perf-test options>]
 *
 * The consumer gets --bootstrap-server, --topic and --messages (= --num-records) from the
 * producer's options; extra consumer options come after the second "--" and win. The mock
 * keeps at most 5 MB per partition, so a run that reads back must fit (see tools_common.c).
 * Stdout carries exactly the two tools' output; the cluster line goes to stderr. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_err.h"

#include <inttypes.h>
#include <string.h>

#define SELFTEST_ARGS_EXTRA 8 /* arguments added in front of the passed-through ones */

static const tools_opt_def selftest_opts[] = {
    { "brokers", TOOLS_OPT_INT, 0, "N", "3", "Number of mock brokers." },
    { "partitions", TOOLS_OPT_INT, 0, "P", "4", "Partitions of the test topic." },
    { "replication-factor", TOOLS_OPT_INT, 0, "R", NULL,
      "Replicas per partition. (default: min(3, brokers))" },
};

/* argv for a command: name, the added arguments, then the passed-through ones. */
static char **selftest_argv(const char *name,
                            const char *const *added,
                            int added_count,
                            int pass_argc,
                            char **pass_argv,
                            int *argc_out) {
    int argc = 1 + added_count + pass_argc;
    char **argv = sl_calloc((size_t)argc + 1, sizeof(*argv));
    argv[0] = (char *)name;
    for (int i = 0; i < added_count; i++) {
        argv[1 + i] = (char *)added[i];
    }
    for (int i = 0; i < pass_argc; i++) {
        argv[1 + added_count + i] = pass_argv[i];
    }
    *argc_out = argc;
    return argv;
}

/* Topic and record count from the producer's options, parsed with its own table. */
static int
selftest_producer_target(int argc, char **argv, const char **topic_out, int64_t *num_records_out) {
    const tools_command *cmd = &tools_cmd_producer_perf_test;
    tools_opts po;
    char err[512];
    int rc = tools_opts_parse(&po, cmd->opts, cmd->opt_count, argc, argv, err, sizeof(err));
    if (rc == SL_OK && !po.help) {
        *topic_out = tools_opts_str(&po, "topic");
        *num_records_out = tools_opts_int(&po, "num-records");
    } else if (rc != SL_OK) {
        fprintf(stderr, "producer-perf-test options: %s\n", err);
    } else {
        rc = SL_E_INVALID;
        tools_usage_print(cmd, stderr);
    }
    tools_opts_deinit(&po);
    return rc;
}

static int selftest_run_tools(const tools_mock *mock,
                              const char *topic,
                              int64_t num_records,
                              int producer_argc,
                              char **producer_argv,
                              int consumer_argc,
                              char **consumer_argv) {
    const char *bootstrap = tools_mock_bootstraps(mock);
    const char *p_added[] = { "--bootstrap-server", bootstrap };
    int argc = 0;
    char **argv = selftest_argv(tools_cmd_producer_perf_test.name, p_added, 2, producer_argc,
                                producer_argv, &argc);
    int exit_code = tools_command_main(&tools_cmd_producer_perf_test, argc, argv);
    sl_free(argv);
    if (exit_code != TOOLS_EXIT_OK) return exit_code;

    char messages[32];
    snprintf(messages, sizeof(messages), "%" PRId64, num_records);
    const char *c_added[] = { "--bootstrap-server", bootstrap, "--topic", topic,
                              "--messages",         messages };
    argv = selftest_argv(tools_cmd_consumer_perf_test.name, c_added, 6, consumer_argc,
                         consumer_argv, &argc);
    exit_code = tools_command_main(&tools_cmd_consumer_perf_test, argc, argv);
    sl_free(argv);
    return exit_code;
}

static int selftest_run(const tools_opts *o) {
    int64_t brokers = tools_opts_int(o, "brokers");
    int64_t partitions = tools_opts_int(o, "partitions");
    int64_t rf = tools_opts_has(o, "replication-factor") ? tools_opts_int(o, "replication-factor")
                                                         : (brokers < 3 ? brokers : 3);
    if (brokers < 1 || brokers > 16 || partitions < 1 || partitions > 1000 || rf < 1 ||
        rf > brokers) {
        fprintf(stderr, "--brokers must be 1..16, --partitions 1..1000, --replication-factor "
                        "1..brokers\n");
        return TOOLS_EXIT_USAGE;
    }
    /* rest: producer options, then (after a second "--") extra consumer options */
    int producer_argc = o->rest_argc;
    int consumer_argc = 0;
    char **consumer_argv = NULL;
    for (int i = 0; i < o->rest_argc; i++) {
        if (strcmp(o->rest_argv[i], "--") == 0) {
            producer_argc = i;
            consumer_argc = o->rest_argc - i - 1;
            consumer_argv = o->rest_argv + i + 1;
            break;
        }
    }
    const char *topic = NULL;
    int64_t num_records = 0;
    if (selftest_producer_target(producer_argc, o->rest_argv, &topic, &num_records) != SL_OK) {
        return TOOLS_EXIT_USAGE;
    }
    char err[512];
    tools_mock *mock = NULL;
    if (tools_mock_start((int)brokers, &mock, err, sizeof(err)) != SL_OK ||
        tools_mock_topic_create(mock, topic, (int)partitions, (int)rf, err, sizeof(err)) != SL_OK) {
        fprintf(stderr, "Error: %s\n", err);
        tools_mock_stop(mock);
        return TOOLS_EXIT_FAIL;
    }
    fprintf(stderr,
            "perf-selftest: mock cluster of %" PRId64 " brokers at %s, topic %s with %" PRId64
            " partitions\n",
            brokers, tools_mock_bootstraps(mock), topic, partitions);
    int exit_code = selftest_run_tools(mock, topic, num_records, producer_argc, o->rest_argv,
                                       consumer_argc, consumer_argv);
    tools_mock_stop(mock);
    return exit_code;
}

const tools_command tools_cmd_perf_selftest = {
    .name = "perf-selftest",
    .summary = "Run producer-perf-test then consumer-perf-test against an in-process mock "
               "cluster.",
    .description = "Starts a librdkafka mock cluster inside this process, creates the topic, "
                   "runs producer-perf-test with the options after \"--\" and then "
                   "consumer-perf-test for the same topic and record count (extra consumer "
                   "options after a second \"--\"). Usage: sluice perf-selftest [options] -- "
                   "<producer-perf-test options> [-- <consumer-perf-test options>]",
    .opts = selftest_opts,
    .opt_count = sizeof(selftest_opts) / sizeof(selftest_opts[0]),
    .flags = TOOLS_CMD_HIDDEN,
    .run = selftest_run,
};
