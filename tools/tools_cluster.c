/* tools_cluster.c — `sluice cluster-id`: the cluster id, as Kafka's
 * `kafka-cluster.sh cluster-id` prints it ("Cluster ID: …"), read from Metadata. */
#include "tools/tools.h"

#include "common/sl_arena.h"
#include "common/sl_err.h"
#include "protocol/protocol.h"

static const tools_opt_def cluster_id_opts[] = {
    { "bootstrap-server", TOOLS_OPT_STRING, TOOLS_OPT_REQUIRED, "host:port", NULL,
      "A list of host/port pairs to use for establishing the connection to the Kafka cluster." },
    { "config", TOOLS_OPT_STRING, 0, "file", NULL,
      "A property file containing configs to be "
      "passed to the admin client." },
};

static int cluster_id_run(const tools_opts *o) {
    char err[512];
    tools_kc *kc = NULL;
    if (tools_kc_open(tools_opts_str(o, "bootstrap-server"), tools_opts_str(o, "config"),
                      "cluster-id", &kc, err, sizeof(err)) != SL_OK) {
        fprintf(stderr, "%s\n", err);
        return TOOLS_EXIT_FAIL;
    }
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_MetadataResponse md;
    /* No topics: only brokers, controller and cluster id come back. */
    static const char *const no_topics[1] = { NULL };
    int rc = tools_kc_metadata(kc, no_topics, 0, &arena, &md, NULL, err, sizeof(err));
    int exit_code = TOOLS_EXIT_FAIL;
    if (rc != SL_OK) {
        fprintf(stderr, "Error: %s\n", err);
    } else if (md.ClusterId.len < 0) {
        fprintf(stderr, "Error: the cluster did not report a cluster id\n");
    } else {
        printf("Cluster ID: %.*s\n", md.ClusterId.len, md.ClusterId.ptr);
        exit_code = TOOLS_EXIT_OK;
    }
    sl_arena_deinit(&arena);
    tools_kc_close(kc);
    return exit_code;
}

const tools_command tools_cmd_cluster_id = {
    .name = "cluster-id",
    .summary = "print the cluster id",
    .description = "Get information about the ID of a cluster (Kafka's `kafka-cluster.sh "
                   "cluster-id`).",
    .opts = cluster_id_opts,
    .opt_count = sizeof(cluster_id_opts) / sizeof(cluster_id_opts[0]),
    .run = cluster_id_run,
};
