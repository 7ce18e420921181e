/* tools_election.c — `sluice leader-election`: elect the preferred (or, unclean, any live)
 * replica as leader of partitions, as Kafka's kafka-leader-election.sh (ElectLeaders
 * through the tools' Kafka client). Partitions: --topic T --partition P,
 * --all-topic-partitions, or --path-to-json-file with
 *
 *   {"partitions": [{"topic": "foo", "partition": 1}, {"topic": "foobar", "partition": 2}]}
 *
 * Output:
 *   Successfully completed leader election (PREFERRED) for partitions foo-0, foo-1
 *   Valid replica already elected for partitions foo-2
 *   Error completing leader election (PREFERRED) for partition: foo-3: org.apache…: …
 * Exit status 1 when a partition could not be elected. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_arena.h"
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <jansson.h>
#include <string.h>

#define ELECTION_TIMEOUT_MS 30000

static const tools_opt_def election_opts[] = {
    { "bootstrap-server", TOOLS_OPT_STRING, 0, "host:port", NULL,
      "A hostname and port for the broker to connect to, in the form host:port. Multiple comma "
      "separated URLs can be given. REQUIRED." },
    { "admin.config", TOOLS_OPT_STRING, 0, "config file", NULL,
      "(DEPRECATED) Configuration properties files to pass to the admin client. Use "
      "--command-config instead." },
    { "command-config", TOOLS_OPT_STRING, 0, "Config file", NULL,
      "Config properties file to pass to the admin client." },
    { "path-to-json-file", TOOLS_OPT_STRING, 0, "Path to JSON file", NULL,
      "The JSON file with the list of partition for which leader elections should be "
      "performed. This is an example format. {\"partitions\": [{\"topic\": \"foo\", "
      "\"partition\": 1}, {\"topic\": \"foobar\", \"partition\": 2}]} Not allowed if "
      "--all-topic-partitions or --topic flags are specified." },
    { "topic", TOOLS_OPT_STRING, 0, "topic name", NULL,
      "Name of topic for which to perform an election. Not allowed if --path-to-json-file or "
      "--all-topic-partitions is specified." },
    { "partition", TOOLS_OPT_INT, 0, "partition id", NULL,
      "Partition id for which to perform an election. REQUIRED if --topic is specified." },
    { "all-topic-partitions", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Perform election on all of the eligible topic partitions based on the type of election "
      "(see the --election-type flag). Not allowed if --topic or --path-to-json-file is "
      "specified." },
    { "election-type", TOOLS_OPT_STRING, 0, "election type", NULL,
      "Type of election to attempt. Possible values are \"preferred\" for preferred leader "
      "election or \"unclean\" for unclean leader election. If preferred election is "
      "selection, the election is only performed if the current leader is not the preferred "
      "leader for the topic partition. If unclean election is selected, the election is only "
      "performed if there are no leader for the topic partition. REQUIRED." },
};

static int election_check_args(const tools_opts *o, int8_t *type_out) {
    char missing[128] = "";
    if (!tools_opts_has(o, "bootstrap-server")) strcat(missing, "bootstrap-server");
    if (!tools_opts_has(o, "election-type")) {
        strcat(missing, missing[0] ? ", election-type" : "election-type");
    }
    if (missing[0]) {
        fprintf(stderr, "Missing required option(s): %s\n", missing);
        return TOOLS_EXIT_FAIL;
    }
    const char *type = tools_opts_str(o, "election-type");
    if (strcasecmp(type, "preferred") == 0) {
        *type_out = 0;
    } else if (strcasecmp(type, "unclean") == 0) {
        *type_out = 1;
    } else {
        fprintf(stderr, "Invalid election type %s; valid values are preferred, unclean\n", type);
        return TOOLS_EXIT_USAGE;
    }
    int scopes = tools_opts_has(o, "topic") + tools_opts_has(o, "all-topic-partitions") +
                 tools_opts_has(o, "path-to-json-file");
    if (scopes != 1) {
        fprintf(stderr, "One and only one of the following options is required: topic, "
                        "all-topic-partitions, path-to-json-file\n");
        return TOOLS_EXIT_FAIL;
    }
    if (tools_opts_has(o, "topic") && !tools_opts_has(o, "partition")) {
        fprintf(stderr, "Missing required option(s): partition\n");
        return TOOLS_EXIT_FAIL;
    }
    if (!tools_opts_has(o, "topic") && tools_opts_has(o, "partition")) {
        fprintf(stderr, "Option partition is only allowed if topic is used\n");
        return TOOLS_EXIT_FAIL;
    }
    return TOOLS_EXIT_OK;
}

static int election_parse_json(const char *path, tools_tp_list *out, char *err, size_t err_size) {
    char *text = NULL;
    SL_TRY(tools_read_file(path, &text, NULL, err, err_size));
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    sl_free(text);
    json_t *parts = root ? json_object_get(root, "partitions") : NULL;
    int rc = SL_OK;
    if (!root) {
        snprintf(err, err_size, "Replica election data is empty");
        rc = SL_E_INVALID;
    } else if (!json_is_array(parts)) {
        snprintf(err, err_size, "Replica election data is missing \"partitions\" field");
        rc = SL_E_INVALID;
    }
    size_t i;
    json_t *p;
    json_array_foreach(rc == SL_OK ? parts : NULL, i, p) {
        json_t *topic = json_object_get(p, "topic"), *partition = json_object_get(p, "partition");
        if (!json_is_string(topic) || !json_is_integer(partition)) {
            snprintf(err, err_size, "Every partition needs \"topic\" and \"partition\"");
            rc = SL_E_INVALID;
            break;
        }
        const char *name = json_string_value(topic);
        int32_t id = (int32_t)json_integer_value(partition);
        if (tools_tp_list_find(out, name, id)) {
            snprintf(err, err_size, "Replica election data contains duplicate partitions: %s-%d",
                     name, id);
            rc = SL_E_INVALID;
            break;
        }
        tools_tp_list_add(out, name, strlen(name), id, -1);
    }
    json_decref(root);
    return rc;
}

/* Request topics from the partition list (NULL list = every partition). */
static void
election_fill(const tools_tp_list *parts, sl_arena *arena, protocol_ElectLeadersRequest *req) {
    if (!parts) {
        req->TopicPartitions.count = -1;
        return;
    }
    req->TopicPartitions.items =
        sl_arena_array(arena, parts->count ? parts->count : 1, sizeof(*req->TopicPartitions.items));
    for (size_t i = 0; i < parts->count; i++) {
        protocol_ElectLeadersRequest_TopicPartitions *t =
            &req->TopicPartitions.items[req->TopicPartitions.count++];
        t->Topic = sl_str_c(parts->items[i].topic);
        t->Partitions.count = 1;
        t->Partitions.items = sl_arena_alloc(arena, sizeof(int32_t));
        t->Partitions.items[0] = parts->items[i].partition;
    }
}

static void election_print_list(const char *prefix, const tools_tp_list *l) {
    if (l->count == 0) return;
    printf("%s", prefix);
    for (size_t i = 0; i < l->count; i++) {
        printf("%s%s-%d", i ? ", " : "", l->items[i].topic, l->items[i].partition);
    }
    printf("\n");
}

/* Sort the results into succeeded / not needed / failed and print them. */
static int election_report(const protocol_ElectLeadersResponse *resp, const char *type_name) {
    tools_tp_list ok, noop, failed;
    tools_tp_list_init(&ok);
    tools_tp_list_init(&noop);
    tools_tp_list_init(&failed);
    for (int32_t i = 0; i < resp->ReplicaElectionResults.count; i++) {
        const protocol_ElectLeadersResponse_ReplicaElectionResult *t =
            &resp->ReplicaElectionResults.items[i];
        for (int32_t k = 0; k < t->PartitionResult.count; k++) {
            const protocol_ElectLeadersResponse_PartitionResult *p = &t->PartitionResult.items[k];
            tools_tp_list *dst = p->ErrorCode == 0                                  ? &ok
                                 : p->ErrorCode == PROTOCOL_ERR_ELECTION_NOT_NEEDED ? &noop
                                                                                    : &failed;
            tools_tp *tp =
                tools_tp_list_add(dst, t->Topic.ptr, (size_t)t->Topic.len, p->PartitionId, -1);
            tp->error = p->ErrorCode;
        }
    }
    tools_tp_list_sort(&ok);
    tools_tp_list_sort(&noop);
    tools_tp_list_sort(&failed);
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "Successfully completed leader election (%s) for partitions ",
             type_name);
    election_print_list(prefix, &ok);
    election_print_list("Valid replica already elected for partitions ", &noop);
    for (size_t i = 0; i < failed.count; i++) {
        printf("Error completing leader election (%s) for partition: %s-%d: %s: %s\n", type_name,
               failed.items[i].topic, failed.items[i].partition,
               tools_error_class(failed.items[i].error),
               tools_error_message(failed.items[i].error));
    }
    if (failed.count) fprintf(stderr, "%zu replica(s) could not be elected\n", failed.count);
    int exit_code = failed.count ? TOOLS_EXIT_FAIL : TOOLS_EXIT_OK;
    tools_tp_list_deinit(&ok);
    tools_tp_list_deinit(&noop);
    tools_tp_list_deinit(&failed);
    return exit_code;
}

static int election_run(const tools_opts *o) {
    int8_t type = 0;
    int check = election_check_args(o, &type);
    if (check != TOOLS_EXIT_OK) return check;
    const char *type_name = type == 0 ? "PREFERRED" : "UNCLEAN";
    char err[1024];
    tools_tp_list parts;
    tools_tp_list_init(&parts);
    int exit_code = TOOLS_EXIT_FAIL;
    tools_kc *kc = NULL;
    sl_arena arena;
    sl_arena_init(&arena);
    const char *config = tools_opts_str(o, "command-config");
    if (!config) config = tools_opts_str(o, "admin.config");
    if (tools_opts_has(o, "topic")) {
        const char *t = tools_opts_str(o, "topic");
        tools_tp_list_add(&parts, t, strlen(t), (int32_t)tools_opts_int(o, "partition"), -1);
    } else if (tools_opts_has(o, "path-to-json-file") &&
               election_parse_json(tools_opts_str(o, "path-to-json-file"), &parts, err,
                                   sizeof(err)) != SL_OK) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    if (tools_kc_open(tools_opts_str(o, "bootstrap-server"), config, "leader-election", &kc, err,
                      sizeof(err)) != SL_OK) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    protocol_ElectLeadersRequest req;
    protocol_ElectLeadersRequest_init(&req);
    req.ElectionType = type;
    req.TimeoutMs = ELECTION_TIMEOUT_MS;
    election_fill(tools_opts_has(o, "all-topic-partitions") ? NULL : &parts, &arena, &req);
    protocol_ElectLeadersResponse resp;
    int16_t version = 0;
    if (tools_kc_call(kc, TOOLS_KC_ANY, 43, -1, &req, &resp, &arena, &version, err, sizeof(err)) !=
        SL_OK) {
        printf("Error while making request\n");
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    if (version == 0 && type != 0) {
        fprintf(stderr, "The cluster only supports preferred leader election\n");
    } else if (resp.ErrorCode != 0) {
        if (resp.ErrorCode == PROTOCOL_ERR_CLUSTER_AUTHORIZATION_FAILED) {
            printf("Not authorized to perform leader election\n");
        }
        fprintf(stderr, "%s: %s\n", tools_error_class(resp.ErrorCode),
                tools_error_message(resp.ErrorCode));
    } else {
        exit_code = election_report(&resp, type_name);
    }
out:
    tools_kc_close(kc);
    sl_arena_deinit(&arena);
    tools_tp_list_deinit(&parts);
    return exit_code;
}

const tools_command tools_cmd_leader_election = {
    .name = "leader-election",
    .summary = "elect the preferred or an unclean leader for partitions",
    .description = "This tool attempts to elect a new leader for a set of topic partitions. The "
                   "type of elections supported are preferred replicas and unclean replicas.",
    .opts = election_opts,
    .opt_count = sizeof(election_opts) / sizeof(election_opts[0]),
    .run = election_run,
};
