/* tools_quorum.c — `sluice metadata-quorum [--bootstrap-server X | --bootstrap-controller
 * Y] describe --status | --replication`: the state of the controllers' Raft quorum over
 * the metadata log (DescribeQuorum v0-2 for __cluster_metadata-0), printed as Kafka's
 * kafka-metadata-quorum.sh prints it:
 *
 *   ClusterId:              <id>
 *   LeaderId:               101
 *   LeaderEpoch:            3
 *   HighWatermark:          1038
 *   MaxFollowerLag:         0
 *   MaxFollowerLagTimeMs:   0
 *   CurrentVoters:          [{"id": 101, "endpoints": ["CONTROLLER://127.0.0.1:9192"]}, …]
 *   CurrentObservers:       [{"id": 1}, …]
 *
 * and for --replication a table NodeId, LogEndOffset, Lag, LastFetchTimestamp,
 * LastCaughtUpTimestamp, Status (Leader / Follower / Observer). */
#include "tools/tools.h"

#include "common/sl_arena.h"
#include "common/sl_err.h"
#include "common/sl_time.h"
#include "protocol/protocol.h"

#include <inttypes.h>
#include <string.h>

static const tools_opt_def quorum_opts[] = {
    { "", TOOLS_OPT_LIST, TOOLS_OPT_HIDDEN, "command", NULL, "describe" },
    { "bootstrap-server", TOOLS_OPT_STRING, 0, "host:port", NULL,
      "A comma-separated list of host:port pairs to use for establishing the connection to "
      "the Kafka cluster." },
    { "bootstrap-controller", TOOLS_OPT_STRING, 0, "host:port", NULL,
      "A comma-separated list of host:port pairs to use for establishing the connection to "
      "the KRaft controllers." },
    { "command-config", TOOLS_OPT_STRING, 0, "file", NULL,
      "Property file containing configs to be passed to Admin Client." },
    { "status", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "With describe: a short summary of the quorum status." },
    { "replication", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "With describe: detailed information about the status of replication." },
    { "human-readable", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "With --replication: times as \"N ms ago\"." },
};

typedef struct quorum_state {
    const protocol_DescribeQuorumResponse *resp;
    const protocol_DescribeQuorumResponse_PartitionData *p;
    const protocol_DescribeQuorumResponse_ReplicaState *leader;
} quorum_state;

static void quorum_print_replicas(const quorum_state *q,
                                  const protocol_DescribeQuorumResponse_ReplicaState_array *a) {
    printf("[");
    for (int32_t i = 0; i < a->count; i++) {
        const protocol_DescribeQuorumResponse_ReplicaState *r = &a->items[i];
        printf("%s{\"id\": %d", i ? ", " : "", r->ReplicaId);
        if (!protocol_uuid_is_zero(&r->ReplicaDirectoryId)) {
            char id[32];
            tools_uuid_format(r->ReplicaDirectoryId.b, id, sizeof(id));
            printf(", \"directoryId\": \"%s\"", id);
        }
        for (int32_t n = 0; n < q->resp->Nodes.count; n++) {
            const protocol_DescribeQuorumResponse_Node *node = &q->resp->Nodes.items[n];
            if (node->NodeId != r->ReplicaId || node->Listeners.count <= 0) continue;
            printf(", \"endpoints\": [");
            for (int32_t l = 0; l < node->Listeners.count; l++) {
                const protocol_DescribeQuorumResponse_Listener *ep = &node->Listeners.items[l];
                printf("%s\"%.*s://%.*s:%u\"", l ? ", " : "", ep->Name.len, ep->Name.ptr,
                       ep->Host.len, ep->Host.ptr, (unsigned)ep->Port);
            }
            printf("]");
        }
        printf("}");
    }
    printf("]");
}

static void quorum_print_status(const quorum_state *q, const char *cluster_id) {
    const protocol_DescribeQuorumResponse_ReplicaState *lagging = q->leader;
    for (int32_t i = 0; i < q->p->CurrentVoters.count; i++) {
        const protocol_DescribeQuorumResponse_ReplicaState *v = &q->p->CurrentVoters.items[i];
        if (!lagging || v->LogEndOffset < lagging->LogEndOffset) lagging = v;
    }
    int64_t lag = q->leader && lagging ? q->leader->LogEndOffset - lagging->LogEndOffset : 0;
    int64_t lag_ms = q->leader ? 0 : -1;
    if (q->leader && lagging != q->leader) {
        lag_ms = (q->leader->LastCaughtUpTimestamp >= 0 && lagging->LastCaughtUpTimestamp >= 0)
                     ? q->leader->LastCaughtUpTimestamp - lagging->LastCaughtUpTimestamp
                     : -1;
    }
    printf("ClusterId:              %s\n", cluster_id);
    printf("LeaderId:               %d\n", q->p->LeaderId);
    printf("LeaderEpoch:            %d\n", q->p->LeaderEpoch);
    printf("HighWatermark:          %" PRId64 "\n", q->p->HighWatermark);
    printf("MaxFollowerLag:         %" PRId64 "\n", lag);
    printf("MaxFollowerLagTimeMs:   %" PRId64 "\n", lag_ms);
    printf("CurrentVoters:          ");
    quorum_print_replicas(q, &q->p->CurrentVoters);
    printf("\nCurrentObservers:       ");
    quorum_print_replicas(q, &q->p->Observers);
    printf("\n");
}

static void quorum_time_cell(int64_t ts, bool human, char *out, size_t out_size) {
    if (ts < 0) {
        snprintf(out, out_size, "-1");
    } else if (human) {
        int64_t ago = sl_wall_ms() - ts;
        snprintf(out, out_size, "%" PRId64 " ms ago", ago < 0 ? 0 : ago);
    } else {
        snprintf(out, out_size, "%" PRId64, ts);
    }
}

static void quorum_add_rows(tools_table *t,
                            const quorum_state *q,
                            const protocol_DescribeQuorumResponse_ReplicaState_array *a,
                            const char *status,
                            bool leader_only,
                            bool skip_leader,
                            bool human) {
    for (int32_t i = 0; i < a->count; i++) {
        const protocol_DescribeQuorumResponse_ReplicaState *r = &a->items[i];
        bool is_leader = r == q->leader;
        if ((leader_only && !is_leader) || (skip_leader && is_leader)) continue;
        char id[16], leo[24], lag[24], fetch[48], caught[48];
        snprintf(id, sizeof(id), "%d", r->ReplicaId);
        snprintf(leo, sizeof(leo), "%" PRId64, r->LogEndOffset);
        snprintf(lag, sizeof(lag), "%" PRId64,
                 q->leader ? q->leader->LogEndOffset - r->LogEndOffset : 0);
        quorum_time_cell(r->LastFetchTimestamp, human, fetch, sizeof(fetch));
        quorum_time_cell(r->LastCaughtUpTimestamp, human, caught, sizeof(caught));
        const char *row[] = { id, leo, lag, fetch, caught, status };
        tools_table_add(t, row);
    }
}

static void quorum_print_replication(const quorum_state *q, bool human) {
    tools_table t;
    tools_table_init(&t, 6);
    const char *header[] = {
        "NodeId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"
    };
    tools_table_add(&t, header);
    quorum_add_rows(&t, q, &q->p->CurrentVoters, "Leader", true, false, human);
    quorum_add_rows(&t, q, &q->p->CurrentVoters, "Follower", false, true, human);
    quorum_add_rows(&t, q, &q->p->Observers, "Observer", false, false, human);
    tools_table_print(&t, stdout);
    tools_table_deinit(&t);
}

/* DescribeQuorum for __cluster_metadata-0; fills q (views in arena). */
static int quorum_describe(tools_kc *kc,
                           sl_arena *arena,
                           protocol_DescribeQuorumResponse *resp,
                           quorum_state *q,
                           char *err,
                           size_t err_size) {
    protocol_DescribeQuorumRequest req;
    protocol_DescribeQuorumRequest_init(&req);
    protocol_DescribeQuorumRequest_TopicData topic;
    protocol_DescribeQuorumRequest_TopicData_init(&topic);
    protocol_DescribeQuorumRequest_PartitionData part;
    protocol_DescribeQuorumRequest_PartitionData_init(&part);
    topic.TopicName = sl_str_c("__cluster_metadata");
    topic.Partitions.count = 1;
    topic.Partitions.items = &part;
    req.Topics.count = 1;
    req.Topics.items = &topic;
    SL_TRY(tools_kc_call(kc, TOOLS_KC_ANY, 55, 2, &req, resp, arena, NULL, err, err_size));
    int16_t code = resp->ErrorCode;
    if (code == 0 && (resp->Topics.count < 1 || resp->Topics.items[0].Partitions.count < 1)) {
        code = PROTOCOL_ERR_UNKNOWN_SERVER_ERROR;
    }
    if (code == 0) code = resp->Topics.items[0].Partitions.items[0].ErrorCode;
    if (code != 0) {
        tools_error_text(code, resp->ErrorMessage.ptr, resp->ErrorMessage.len, err, err_size);
        return SL_E_STATE;
    }
    memset(q, 0, sizeof(*q));
    q->resp = resp;
    q->p = &resp->Topics.items[0].Partitions.items[0];
    for (int32_t i = 0; i < q->p->CurrentVoters.count; i++) {
        if (q->p->CurrentVoters.items[i].ReplicaId == q->p->LeaderId) {
            q->leader = &q->p->CurrentVoters.items[i];
        }
    }
    return SL_OK;
}

static int quorum_check_args(const tools_opts *o) {
    const tools_opt_value *cmd = tools_opts_get(o, "");
    if (cmd->list_count != 1 || strcmp(cmd->list[0], "describe") != 0) {
        fprintf(stderr, "metadata-quorum: error: %s\n",
                cmd->list_count ? "invalid choice (choose from 'describe')" : "too few arguments");
        return TOOLS_EXIT_USAGE;
    }
    if (tools_opts_has(o, "bootstrap-server") == tools_opts_has(o, "bootstrap-controller")) {
        fprintf(stderr, "Must specify either --bootstrap-server or --bootstrap-controller.\n");
        return TOOLS_EXIT_USAGE;
    }
    if (tools_opts_has(o, "status") == tools_opts_has(o, "replication")) {
        fprintf(stderr, "One of --status or --replication must be specified with describe "
                        "sub-command\n");
        return TOOLS_EXIT_USAGE;
    }
    if (tools_opts_has(o, "human-readable") && !tools_opts_has(o, "replication")) {
        fprintf(stderr, "The option --human-readable is only supported along with "
                        "--replication\n");
        return TOOLS_EXIT_FAIL;
    }
    return TOOLS_EXIT_OK;
}

static int quorum_run(const tools_opts *o) {
    int check = quorum_check_args(o);
    if (check != TOOLS_EXIT_OK) return check;
    const char *bootstrap = tools_opts_has(o, "bootstrap-server")
                                ? tools_opts_str(o, "bootstrap-server")
                                : tools_opts_str(o, "bootstrap-controller");
    char err[512];
    tools_kc *kc = NULL;
    if (tools_kc_open(bootstrap, tools_opts_str(o, "command-config"), "metadata-quorum", &kc, err,
                      sizeof(err)) != SL_OK) {
        fprintf(stderr, "%s\n", err);
        return TOOLS_EXIT_FAIL;
    }
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_DescribeQuorumResponse resp;
    quorum_state q;
    int exit_code = TOOLS_EXIT_FAIL;
    if (quorum_describe(kc, &arena, &resp, &q, err, sizeof(err)) != SL_OK) {
        fprintf(stderr, "%s\n", err);
    } else if (tools_opts_has(o, "replication")) {
        quorum_print_replication(&q, tools_opts_has(o, "human-readable"));
        exit_code = TOOLS_EXIT_OK;
    } else {
        protocol_MetadataResponse md;
        static const char *const no_topics[1] = { NULL };
        char cluster_id[128] = "";
        /* A controller does not answer Metadata: the cluster id is then left empty. */
        if (tools_kc_metadata(kc, no_topics, 0, &arena, &md, NULL, err, sizeof(err)) == SL_OK &&
            md.ClusterId.len > 0) {
            snprintf(cluster_id, sizeof(cluster_id), "%.*s", md.ClusterId.len, md.ClusterId.ptr);
        }
        quorum_print_status(&q, cluster_id);
        exit_code = TOOLS_EXIT_OK;
    }
    sl_arena_deinit(&arena);
    tools_kc_close(kc);
    return exit_code;
}

const tools_command tools_cmd_metadata_quorum = {
    .name = "metadata-quorum",
    .summary = "describe the controllers' metadata quorum",
    .description = "This tool describes kraft metadata quorum status. Usage: sluice "
                   "metadata-quorum --bootstrap-server HOST:PORT describe --status | "
                   "--replication [--human-readable].",
    .opts = quorum_opts,
    .opt_count = sizeof(quorum_opts) / sizeof(quorum_opts[0]),
    .run = quorum_run,
};
