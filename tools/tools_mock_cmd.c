/* tools_mock_cmd.c — `sluice mock-cluster` (hidden): hosts librdkafka's in-process mock
 * cluster for tests of the tools that speak to a cluster. Prints
 * "BOOTSTRAP=127.0.0.1:port,…" on one line, then serves until stdin reaches end of file
 * (the test closes the pipe) or SIGTERM/SIGINT arrives. Topics are created with
 * --topic NAME:PARTITIONS:REPLICATION-FACTOR (repeatable). The mock speaks Produce, Fetch,
 * ListOffsets, Metadata v0-2, the consumer group protocol and transactions, not the admin
 * APIs. */
#include "tools/tools.h"

#include "common/sl_err.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t mock_stop_g; /* set by SIGTERM / SIGINT */

static void mock_on_signal(int sig) {
    (void)sig;
    mock_stop_g = 1;
}

static const tools_opt_def mock_opts[] = {
    { "brokers", TOOLS_OPT_INT, 0, "N", "3", "Number of mock brokers." },
    { "topic", TOOLS_OPT_LIST, 0, "NAME:PARTITIONS:RF", NULL, "Topics to create." },
};

static int mock_create_topics(tools_mock *mock, const tools_opt_value *topics) {
    char err[256];
    for (size_t i = 0; i < topics->list_count; i++) {
        char name[256];
        int partitions = 1, rf = 1;
        if (sscanf(topics->list[i], "%255[^:]:%d:%d", name, &partitions, &rf) < 1) {
            fprintf(stderr, "Invalid --topic %s\n", topics->list[i]);
            return SL_E_INVALID;
        }
        SL_TRY(tools_mock_topic_create(mock, name, partitions, rf, err, sizeof(err)));
    }
    return SL_OK;
}

static int mock_run(const tools_opts *o) {
    char err[256];
    tools_mock *mock = NULL;
    int64_t brokers = tools_opts_int(o, "brokers");
    if (brokers < 1 || brokers > 16 ||
        tools_mock_start((int)brokers, &mock, err, sizeof(err)) != SL_OK) {
        fprintf(stderr, "Cannot start the mock cluster\n");
        return TOOLS_EXIT_FAIL;
    }
    if (mock_create_topics(mock, tools_opts_get(o, "topic")) != SL_OK) {
        tools_mock_stop(mock);
        return TOOLS_EXIT_FAIL;
    }
    signal(SIGTERM, mock_on_signal);
    signal(SIGINT, mock_on_signal);
    printf("BOOTSTRAP=%s\n", tools_mock_bootstraps(mock));
    fflush(stdout);
    /* Serve until stdin closes: bounded waits so a signal is noticed within 200 ms. */
    while (!mock_stop_g) {
        struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
        int n = poll(&p, 1, 200);
        if (n > 0) {
            char buf[256];
            if (read(STDIN_FILENO, buf, sizeof(buf)) <= 0) break;
        }
    }
    tools_mock_stop(mock);
    return TOOLS_EXIT_OK;
}

const tools_command tools_cmd_mock_cluster = {
    .name = "mock-cluster",
    .summary = "host librdkafka's mock cluster until stdin closes (testing)",
    .description = "Starts an in-process mock Kafka cluster on 127.0.0.1, prints "
                   "BOOTSTRAP=<servers> and serves until stdin reaches end of file.",
    .opts = mock_opts,
    .opt_count = sizeof(mock_opts) / sizeof(mock_opts[0]),
    .flags = TOOLS_CMD_HIDDEN,
    .run = mock_run,
};
