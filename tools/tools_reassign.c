/* tools_reassign.c — `sluice reassign-partitions`: move partition replicas between brokers,
 * as Kafka's kafka-reassign-partitions.sh (ReassignPartitionsCommand), through
 * AlterPartitionReassignments / ListPartitionReassignments on the tools' Kafka client.
 *
 *   --generate --topics-to-move-json-file F --broker-list 1,2,3
 *        F: {"topics": [{"topic": "foo"}], "version": 1}. Prints the current assignment and
 *        a proposal (Kafka's rack-unaware round-robin with a random start).
 *   --execute --reassignment-json-file F [--throttle B/s] [--additional]
 *        F: {"version":1,"partitions":[{"topic":"foo","partition":0,"replicas":[1,2],
 *        "log_dirs":["any","any"]}]}. Prints the current assignment for rollback, then
 *        "Successfully started partition reassignment for foo-0".
 *   --verify --reassignment-json-file F   "Reassignment of partition foo-0 is completed." /
 *        "... is still in progress."; clears the throttles once nothing is moving.
 *   --cancel --reassignment-json-file F   cancels the reassignments still in progress.
 *   --list                                the reassignments in progress.
 * Log directory moves ("log_dirs" other than "any") are not supported: each broker has one
 * log directory. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_arena.h"
#include "common/sl_err.h"
#include "common/sl_rand.h"
#include "protocol/protocol.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define REASSIGN_TIMEOUT_MS   60000
#define REASSIGN_REPLICAS_MAX 64 /* replicas of one partition */

static const tools_opt_def reassign_opts[] = {
    { "bootstrap-server", TOOLS_OPT_STRING, 0, "Server(s) to use for bootstrapping", NULL,
      "the server(s) to use for bootstrapping." },
    { "command-config", TOOLS_OPT_STRING, 0, "Admin client property file", NULL,
      "Property file containing configs to be passed to Admin Client." },
    { "generate", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Generate a candidate partition reassignment configuration. Note that this only "
      "generates a candidate assignment, it does not execute it." },
    { "execute", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Kick off the reassignment as specified by the --reassignment-json-file option." },
    { "verify", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Verify if the reassignment completed as specified by the --reassignment-json-file "
      "option. If there is a throttle engaged for the replicas specified, and the rebalance "
      "has completed, the throttle will be removed" },
    { "cancel", TOOLS_OPT_FLAG, 0, NULL, NULL, "Cancel an active reassignment." },
    { "list", TOOLS_OPT_FLAG, 0, NULL, NULL, "List all active partition reassignments." },
    { "reassignment-json-file", TOOLS_OPT_STRING, 0, "manual assignment json file path", NULL,
      "The JSON file with the partition reassignment configuration. The format to use is "
      "{\"partitions\": [{\"topic\": \"foo\", \"partition\": 1, \"replicas\": [1,2,3], "
      "\"log_dirs\": [\"dir1\",\"dir2\",\"dir3\"]}], \"version\":1}. log_dirs is optional." },
    { "topics-to-move-json-file", TOOLS_OPT_STRING, 0, "topics to reassign json file path", NULL,
      "Generate a reassignment configuration to move the partitions of the specified topics to "
      "the list of brokers specified by the --broker-list option. The format to use is "
      "{\"topics\": [{\"topic\": \"foo\"},{\"topic\": \"foo1\"}], \"version\":1}" },
    { "broker-list", TOOLS_OPT_STRING, 0, "brokerlist", NULL,
      "The list of brokers to which the partitions need to be reassigned in the form "
      "\"0,1,2\". This is required if --topics-to-move-json-file is used to generate "
      "reassignment configuration" },
    { "disable-rack-aware", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Disable rack aware replica assignment" },
    { "throttle", TOOLS_OPT_INT, 0, "throttle", "-1",
      "The movement of partitions between brokers will be throttled to this value (bytes/sec)." },
    { "replica-alter-log-dirs-throttle", TOOLS_OPT_INT, 0, "replicaAlterLogDirsThrottle", "-1",
      "The movement of replicas between log directories on the same broker will be throttled "
      "to this value (bytes/sec)." },
    { "timeout", TOOLS_OPT_INT, 0, "timeout", "10000",
      "The maximum time in ms to wait for log directory replica assignment to begin." },
    { "additional", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Execute this reassignment in addition to any other ongoing ones." },
    { "preserve-throttles", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Do not modify broker or topic throttles." },
};

/* A partition and its target (or current) replicas. */
typedef struct reassign_part {
    char *topic; /* arena */
    int32_t partition;
    int32_t replicas[REASSIGN_REPLICAS_MAX];
    int32_t replica_count;
} reassign_part;

typedef struct reassign_ctx {
    const tools_opts *o;
    tools_kc *kc;
    sl_arena arena;
    char err[2048];
    reassign_part *parts; /* from the JSON file, arena */
    size_t part_count;
} reassign_ctx;

static int part_cmp(const void *a, const void *b) {
    const reassign_part *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

static void ids_text(const int32_t *ids, int32_t n, char *out, size_t out_size) {
    size_t used = 0;
    out[0] = '\0';
    for (int32_t i = 0; i < n; i++) {
        int w = snprintf(out + used, out_size - used, "%s%d", i ? "," : "", ids[i]);
        if (w < 0 || (size_t)w >= out_size - used) break;
        used += (size_t)w;
    }
}

/* ---- JSON ---- */

static json_t *reassign_load_json(reassign_ctx *c, const char *path) {
    char *text = NULL;
    if (tools_read_file(path, &text, NULL, c->err, sizeof(c->err)) != SL_OK) return NULL;
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    sl_free(text);
    if (!root || !json_is_object(root)) {
        snprintf(c->err, sizeof(c->err), "The input string is not a valid JSON");
        json_decref(root);
        return NULL;
    }
    json_t *version = json_object_get(root, "version");
    if (version && (!json_is_integer(version) || json_integer_value(version) != 1)) {
        snprintf(c->err, sizeof(c->err), "Not supported version field value %" JSON_INTEGER_FORMAT,
                 json_is_integer(version) ? json_integer_value(version) : (json_int_t)0);
        json_decref(root);
        return NULL;
    }
    return root;
}

static int reassign_parse_entry(reassign_ctx *c, json_t *p, reassign_part *out) {
    json_t *topic = json_object_get(p, "topic"), *partition = json_object_get(p, "partition");
    json_t *replicas = json_object_get(p, "replicas"), *dirs = json_object_get(p, "log_dirs");
    if (!json_is_string(topic) || !json_is_integer(partition) || !json_is_array(replicas) ||
        json_array_size(replicas) > REASSIGN_REPLICAS_MAX) {
        snprintf(c->err, sizeof(c->err),
                 "Every partition needs \"topic\", \"partition\" and "
                 "\"replicas\" (at most %d)",
                 REASSIGN_REPLICAS_MAX);
        return SL_E_INVALID;
    }
    const char *name = json_string_value(topic);
    out->topic = sl_arena_strndup(&c->arena, name, strlen(name));
    out->partition = (int32_t)json_integer_value(partition);
    out->replica_count = 0;
    size_t i;
    json_t *r;
    json_array_foreach(replicas, i, r) {
        out->replicas[out->replica_count++] = (int32_t)json_integer_value(r);
    }
    if (dirs && (!json_is_array(dirs) || json_array_size(dirs) != json_array_size(replicas))) {
        snprintf(c->err, sizeof(c->err),
                 "Size of replicas list is different from size of log dirs "
                 "list for partition %s-%d",
                 out->topic, out->partition);
        return SL_E_INVALID;
    }
    json_array_foreach(dirs, i, r) {
        if (!json_is_string(r) || strcmp(json_string_value(r), "any") != 0) {
            snprintf(c->err, sizeof(c->err),
                     "Log directory moves are not supported (partition "
                     "%s-%d): use \"any\"",
                     out->topic, out->partition);
            return SL_E_UNSUPPORTED;
        }
    }
    return SL_OK;
}

static int reassign_parse_plan(reassign_ctx *c) {
    json_t *root = reassign_load_json(c, tools_opts_str(c->o, "reassignment-json-file"));
    if (!root) return SL_E_INVALID;
    json_t *parts = json_object_get(root, "partitions");
    size_t n = json_is_array(parts) ? json_array_size(parts) : 0;
    c->parts = sl_arena_array(&c->arena, n ? n : 1, sizeof(*c->parts));
    int rc = SL_OK;
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) {
        rc = reassign_parse_entry(c, p, &c->parts[c->part_count]);
        if (rc != SL_OK) break;
        c->part_count++;
    }
    json_decref(root);
    return rc;
}

/* Checks of parseExecuteAssignmentArgs. */
static int reassign_check_plan(reassign_ctx *c) {
    if (c->part_count == 0) {
        snprintf(c->err, sizeof(c->err), "Partition reassignment list cannot be empty");
        return SL_E_INVALID;
    }
    for (size_t i = 0; i < c->part_count; i++) {
        const reassign_part *p = &c->parts[i];
        if (p->replica_count == 0) {
            snprintf(c->err, sizeof(c->err), "Partition replica list cannot be empty");
            return SL_E_INVALID;
        }
        for (size_t k = 0; k < i; k++) {
            if (c->parts[k].partition == p->partition && strcmp(c->parts[k].topic, p->topic) == 0) {
                snprintf(c->err, sizeof(c->err),
                         "Partition reassignment contains duplicate topic "
                         "partitions: %s-%d",
                         p->topic, p->partition);
                return SL_E_INVALID;
            }
        }
        for (int32_t a = 0; a < p->replica_count; a++) {
            for (int32_t b = 0; b < a; b++) {
                if (p->replicas[a] != p->replicas[b]) continue;
                snprintf(c->err, sizeof(c->err),
                         "Partition replica lists may not contain duplicate "
                         "entries: %s-%d contains multiple entries for %d",
                         p->topic, p->partition, p->replicas[a]);
                return SL_E_INVALID;
            }
        }
    }
    return SL_OK;
}

/* Kafka's formatAsReassignmentJson: compact, partitions sorted, log_dirs "any". */
static void reassign_print_json(const reassign_part *parts, size_t n) {
    json_t *root = json_object();
    json_object_set_new(root, "version", json_integer(1));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_object();
        json_object_set_new(p, "topic", json_string(parts[i].topic));
        json_object_set_new(p, "partition", json_integer(parts[i].partition));
        json_t *reps = json_array(), *dirs = json_array();
        for (int32_t k = 0; k < parts[i].replica_count; k++) {
            json_array_append_new(reps, json_integer(parts[i].replicas[k]));
            json_array_append_new(dirs, json_string("any"));
        }
        json_object_set_new(p, "replicas", reps);
        json_object_set_new(p, "log_dirs", dirs);
        json_array_append_new(arr, p);
    }
    json_object_set_new(root, "partitions", arr);
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    printf("%s", text ? text : "{}");
    free(text);
    json_decref(root);
}

/* ---- cluster state ---- */

/* Current replicas of the given topics' partitions (Metadata), into an arena array. */
static int reassign_current(reassign_ctx *c,
                            const char *const *topics,
                            size_t n,
                            protocol_MetadataResponse *md,
                            reassign_part **out,
                            size_t *count_out) {
    SL_TRY(tools_kc_metadata(c->kc, topics, n, &c->arena, md, NULL, c->err, sizeof(c->err)));
    size_t total = 0;
    for (int32_t t = 0; t < md->Topics.count; t++) {
        const protocol_MetadataResponse_MetadataResponseTopic *mt = &md->Topics.items[t];
        if (mt->ErrorCode == PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
            snprintf(c->err, sizeof(c->err), "%s: Topic %.*s not found.",
                     tools_error_class(mt->ErrorCode), mt->Name.len, mt->Name.ptr);
            return SL_E_NOT_FOUND;
        }
        total += (size_t)(mt->Partitions.count > 0 ? mt->Partitions.count : 0);
    }
    reassign_part *parts = sl_arena_array(&c->arena, total ? total : 1, sizeof(*parts));
    size_t k = 0;
    for (int32_t t = 0; t < md->Topics.count; t++) {
        const protocol_MetadataResponse_MetadataResponseTopic *mt = &md->Topics.items[t];
        for (int32_t p = 0; p < mt->Partitions.count; p++) {
            const protocol_MetadataResponse_MetadataResponsePartition *mp =
                &mt->Partitions.items[p];
            parts[k].topic = sl_arena_strndup(&c->arena, mt->Name.ptr, (size_t)mt->Name.len);
            parts[k].partition = mp->PartitionIndex;
            parts[k].replica_count = 0;
            for (int32_t r = 0; r < mp->ReplicaNodes.count && r < REASSIGN_REPLICAS_MAX; r++) {
                parts[k].replicas[parts[k].replica_count++] = mp->ReplicaNodes.items[r];
            }
            k++;
        }
    }
    qsort(parts, k, sizeof(*parts), part_cmp);
    *out = parts;
    *count_out = k;
    return SL_OK;
}

static const reassign_part *
find_part(const reassign_part *parts, size_t n, const char *topic, int32_t partition) {
    for (size_t i = 0; i < n; i++) {
        if (parts[i].partition == partition && strcmp(parts[i].topic, topic) == 0) return &parts[i];
    }
    return NULL;
}

/* Every reassignment in progress (ListPartitionReassignments, all partitions). */
static int reassign_ongoing(reassign_ctx *c, protocol_ListPartitionReassignmentsResponse *resp) {
    protocol_ListPartitionReassignmentsRequest req;
    protocol_ListPartitionReassignmentsRequest_init(&req);
    req.Topics.count = -1;
    req.TimeoutMs = REASSIGN_TIMEOUT_MS;
    SL_TRY(tools_kc_call(c->kc, TOOLS_KC_ANY, 46, -1, &req, resp, &c->arena, NULL, c->err,
                         sizeof(c->err)));
    if (resp->ErrorCode != 0) {
        tools_error_text(resp->ErrorCode, resp->ErrorMessage.ptr, resp->ErrorMessage.len, c->err,
                         sizeof(c->err));
        return SL_E_STATE;
    }
    return SL_OK;
}

static const protocol_ListPartitionReassignmentsResponse_OngoingPartitionReassignment *find_ongoing(
    const protocol_ListPartitionReassignmentsResponse *resp, const char *topic, int32_t partition) {
    for (int32_t i = 0; i < resp->Topics.count; i++) {
        if (!sl_str_eq_c(resp->Topics.items[i].Name, topic)) continue;
        for (int32_t k = 0; k < resp->Topics.items[i].Partitions.count; k++) {
            if (resp->Topics.items[i].Partitions.items[k].PartitionIndex == partition) {
                return &resp->Topics.items[i].Partitions.items[k];
            }
        }
    }
    return NULL;
}

/* ---- throttles ---- */

/* IncrementalAlterConfigs of one resource; ops: name=value SET, or name=NULL DELETE. */
static int reassign_alter_config(reassign_ctx *c,
                                 int8_t type,
                                 const char *name,
                                 const char *const *keys,
                                 const char *const *values,
                                 size_t n) {
    protocol_IncrementalAlterConfigsRequest_AlterConfigsResource res;
    protocol_IncrementalAlterConfigsRequest_AlterConfigsResource_init(&res);
    res.ResourceType = type;
    res.ResourceName = sl_str_c(name);
    res.Configs.count = (int32_t)n;
    res.Configs.items = sl_arena_array(&c->arena, n, sizeof(*res.Configs.items));
    for (size_t i = 0; i < n; i++) {
        res.Configs.items[i].Name = sl_str_c(keys[i]);
        res.Configs.items[i].ConfigOperation = values[i] ? 0 : 1;
        res.Configs.items[i].Value = values[i] ? sl_str_c(values[i]) : SL_STR_NULL;
    }
    protocol_IncrementalAlterConfigsRequest req;
    protocol_IncrementalAlterConfigsRequest_init(&req);
    req.Resources.count = 1;
    req.Resources.items = &res;
    protocol_IncrementalAlterConfigsResponse resp;
    int32_t node = TOOLS_KC_ANY;
    if (type == 4) tools_parse_i32(name, &node);
    SL_TRY(
        tools_kc_call(c->kc, node, 44, -1, &req, &resp, &c->arena, NULL, c->err, sizeof(c->err)));
    for (int32_t i = 0; i < resp.Responses.count; i++) {
        if (resp.Responses.items[i].ErrorCode == 0) continue;
        tools_error_text(resp.Responses.items[i].ErrorCode,
                         resp.Responses.items[i].ErrorMessage.ptr,
                         resp.Responses.items[i].ErrorMessage.len, c->err, sizeof(c->err));
        return SL_E_STATE;
    }
    return SL_OK;
}

/* Which of keys are set as dynamic configs (source) on the resource: only those are
 * cleared, so brokers that never had throttles are left alone. */
static int reassign_dynamic_keys(reassign_ctx *c,
                                 int8_t type,
                                 const char *name,
                                 const char *const *keys,
                                 size_t n,
                                 int8_t source,
                                 const char **out) {
    protocol_DescribeConfigsRequest_DescribeConfigsResource res;
    protocol_DescribeConfigsRequest_DescribeConfigsResource_init(&res);
    res.ResourceType = type;
    res.ResourceName = sl_str_c(name);
    res.ConfigurationKeys.count = (int32_t)n;
    res.ConfigurationKeys.items = sl_arena_array(&c->arena, n, sizeof(sl_str));
    for (size_t i = 0; i < n; i++) {
        res.ConfigurationKeys.items[i] = sl_str_c(keys[i]);
        out[i] = NULL;
    }
    protocol_DescribeConfigsRequest req;
    protocol_DescribeConfigsRequest_init(&req);
    req.Resources.count = 1;
    req.Resources.items = &res;
    protocol_DescribeConfigsResponse resp;
    int32_t node = TOOLS_KC_ANY;
    if (type == 4) tools_parse_i32(name, &node);
    SL_TRY(
        tools_kc_call(c->kc, node, 32, -1, &req, &resp, &c->arena, NULL, c->err, sizeof(c->err)));
    for (int32_t r = 0; r < resp.Results.count; r++) {
        for (int32_t k = 0; k < resp.Results.items[r].Configs.count; k++) {
            const protocol_DescribeConfigsResponse_DescribeConfigsResourceResult *e =
                &resp.Results.items[r].Configs.items[k];
            for (size_t i = 0; i < n && e->ConfigSource == source; i++) {
                if (sl_str_eq_c(e->Name, keys[i])) out[i] = keys[i];
            }
        }
    }
    return SL_OK;
}

/* Delete the keys of the resource that are set dynamically; failures are warnings. */
static void reassign_clear_keys(
    reassign_ctx *c, int8_t type, const char *name, const char *const *keys, size_t n) {
    const char *set[4];
    static const char *const none[4] = { NULL, NULL, NULL, NULL };
    int rc = reassign_dynamic_keys(c, type, name, keys, n, type == 4 ? 2 : 1, set);
    size_t k = 0;
    for (size_t i = 0; rc == SL_OK && i < n; i++) {
        if (set[i]) set[k++] = set[i];
    }
    if (rc == SL_OK && k > 0) rc = reassign_alter_config(c, type, name, set, none, k);
    if (rc != SL_OK) {
        fprintf(stderr, "WARN Could not clear the throttles of %s %s: %s\n",
                type == 4 ? "broker" : "topic", name, c->err);
    }
}

static int int_cmp(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static size_t add_unique(int32_t *set, size_t n, size_t cap, int32_t v) {
    for (size_t i = 0; i < n; i++) {
        if (set[i] == v) return n;
    }
    if (n < cap) set[n++] = v;
    return n;
}

/* Kafka's clearAllThrottles: every live broker and every target replica's broker, and
 * every topic of the plan. Failures are reported but do not fail the command. */
static void reassign_clear_throttles(reassign_ctx *c, const protocol_MetadataResponse *md) {
    int32_t brokers[1024];
    size_t nb = 0;
    for (int32_t i = 0; i < md->Brokers.count; i++) {
        nb = add_unique(brokers, nb, 1024, md->Brokers.items[i].NodeId);
    }
    for (size_t i = 0; i < c->part_count; i++) {
        for (int32_t k = 0; k < c->parts[i].replica_count; k++) {
            nb = add_unique(brokers, nb, 1024, c->parts[i].replicas[k]);
        }
    }
    qsort(brokers, nb, sizeof(int32_t), int_cmp);
    char list[8192];
    ids_text(brokers, (int32_t)nb, list, sizeof(list));
    printf("Clearing broker-level throttles on broker%s %s\n", nb == 1 ? "" : "s", list);
    static const char *const broker_keys[] = { "leader.replication.throttled.rate",
                                               "follower.replication.throttled.rate",
                                               "replica.alter.log.dirs.io.max.bytes.per.second" };
    for (size_t i = 0; i < nb; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%d", brokers[i]);
        reassign_clear_keys(c, 4, id, broker_keys, 3);
    }
    static const char *const topic_keys[] = { "leader.replication.throttled.replicas",
                                              "follower.replication.throttled.replicas" };
    size_t used = 0;
    list[0] = '\0';
    for (size_t i = 0; i < c->part_count; i++) {
        if (i > 0 && strcmp(c->parts[i].topic, c->parts[i - 1].topic) == 0) continue;
        int w =
            snprintf(list + used, sizeof(list) - used, "%s%s", used ? "," : "", c->parts[i].topic);
        if (w > 0 && (size_t)w < sizeof(list) - used) used += (size_t)w;
        reassign_clear_keys(c, 2, c->parts[i].topic, topic_keys, 2);
    }
    size_t topics = 0;
    for (size_t i = 0; i < c->part_count; i++) {
        topics += i == 0 || strcmp(c->parts[i].topic, c->parts[i - 1].topic) != 0;
    }
    printf("Clearing topic-level throttles on topic%s %s\n", topics == 1 ? "" : "s", list);
}

/* --throttle: leader throttles on the current replicas, follower throttles on the new ones,
 * and the rate on every broker involved (calculateProposedMoveMap and friends). */
static int
reassign_set_throttles(reassign_ctx *c, const reassign_part *current, size_t ncur, int64_t rate) {
    int32_t brokers[1024];
    size_t nb = 0;
    for (size_t i = 0; i < c->part_count; i++) {
        const reassign_part *p = &c->parts[i];
        if (i > 0 && strcmp(p->topic, c->parts[i - 1].topic) == 0) continue;
        char leaders[4096] = "", followers[4096] = "";
        size_t lu = 0, fu = 0;
        for (size_t k = i; k < c->part_count && strcmp(c->parts[k].topic, p->topic) == 0; k++) {
            const reassign_part *t = &c->parts[k];
            const reassign_part *cur = find_part(current, ncur, t->topic, t->partition);
            for (int32_t r = 0; cur && r < cur->replica_count; r++) {
                int w = snprintf(leaders + lu, sizeof(leaders) - lu, "%s%d:%d", lu ? "," : "",
                                 t->partition, cur->replicas[r]);
                if (w > 0 && (size_t)w < sizeof(leaders) - lu) lu += (size_t)w;
                nb = add_unique(brokers, nb, 1024, cur->replicas[r]);
            }
            for (int32_t r = 0; r < t->replica_count; r++) {
                bool source = false;
                for (int32_t s = 0; cur && s < cur->replica_count; s++) {
                    source = source || cur->replicas[s] == t->replicas[r];
                }
                nb = add_unique(brokers, nb, 1024, t->replicas[r]);
                if (source) continue;
                int w = snprintf(followers + fu, sizeof(followers) - fu, "%s%d:%d", fu ? "," : "",
                                 t->partition, t->replicas[r]);
                if (w > 0 && (size_t)w < sizeof(followers) - fu) fu += (size_t)w;
            }
        }
        static const char *const keys[] = { "leader.replication.throttled.replicas",
                                            "follower.replication.throttled.replicas" };
        const char *values[] = { leaders, followers };
        SL_TRY(reassign_alter_config(c, 2, p->topic, keys, values, 2));
    }
    char value[32];
    snprintf(value, sizeof(value), "%lld", (long long)rate);
    static const char *const rate_keys[] = { "leader.replication.throttled.rate",
                                             "follower.replication.throttled.rate" };
    const char *rate_values[] = { value, value };
    for (size_t i = 0; i < nb; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%d", brokers[i]);
        SL_TRY(reassign_alter_config(c, 4, id, rate_keys, rate_values, 2));
    }
    printf("The inter-broker throttle limit was set to %lld B/s\n", (long long)rate);
    return SL_OK;
}

/* ---- generate ---- */

/* AdminUtils.assignReplicasToBrokersRackUnaware. */
static void reassign_round_robin(const int32_t *brokers,
                                 int32_t nb,
                                 int32_t partitions,
                                 int32_t rf,
                                 uint64_t seed,
                                 reassign_part *out) {
    sl_rand rng;
    sl_rand_seed(&rng, seed);
    int32_t start = (int32_t)sl_rand_below(&rng, (uint64_t)nb);
    int32_t shift = (int32_t)sl_rand_below(&rng, (uint64_t)nb);
    for (int32_t p = 0; p < partitions; p++) {
        if (p > 0 && p % nb == 0) shift++;
        int32_t first = (p + start) % nb;
        out[p].partition = p;
        out[p].replica_count = rf;
        out[p].replicas[0] = brokers[first];
        for (int32_t j = 0; j < rf - 1; j++) {
            int32_t s = 1 + (shift + j) % (nb - 1);
            out[p].replicas[j + 1] = brokers[(first + s) % nb];
        }
    }
}

static int reassign_parse_brokers(reassign_ctx *c,
                                  const protocol_MetadataResponse *md,
                                  int32_t *brokers,
                                  int32_t *nb_out) {
    char *copy = sl_arena_strndup(&c->arena, tools_opts_str(c->o, "broker-list"),
                                  strlen(tools_opts_str(c->o, "broker-list")));
    int32_t nb = 0;
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && nb < 1024; t = strtok_r(NULL, ",", &save)) {
        int32_t id = 0;
        if (!tools_parse_i32(t, &id)) {
            snprintf(c->err, sizeof(c->err), "For input string: \"%s\"", t);
            return SL_E_INVALID;
        }
        for (int32_t k = 0; k < nb; k++) {
            if (brokers[k] != id) continue;
            snprintf(c->err, sizeof(c->err), "Broker list contains duplicate entries: %d", id);
            return SL_E_INVALID;
        }
        brokers[nb++] = id;
    }
    /* Brokers that do not exist are left out, as Kafka's getBrokerMetadata does. */
    int32_t live = 0;
    for (int32_t i = 0; i < nb; i++) {
        for (int32_t b = 0; b < md->Brokers.count; b++) {
            if (md->Brokers.items[b].NodeId == brokers[i]) {
                brokers[live++] = brokers[i];
                break;
            }
        }
    }
    qsort(brokers, (size_t)live, sizeof(int32_t), int_cmp);
    *nb_out = live;
    return SL_OK;
}

static int reassign_topics_to_move(reassign_ctx *c, const char ***topics_out, size_t *n_out) {
    json_t *root = reassign_load_json(c, tools_opts_str(c->o, "topics-to-move-json-file"));
    if (!root) return SL_E_INVALID;
    json_t *topics = json_object_get(root, "topics");
    size_t n = json_is_array(topics) ? json_array_size(topics) : 0, k = 0, i;
    const char **names = sl_arena_array(&c->arena, n ? n : 1, sizeof(char *));
    json_t *t;
    int rc = SL_OK;
    json_array_foreach(topics, i, t) {
        json_t *name = json_object_get(t, "topic");
        if (!json_is_string(name)) {
            snprintf(c->err, sizeof(c->err), "Every entry of \"topics\" needs a \"topic\"");
            rc = SL_E_INVALID;
            break;
        }
        for (size_t d = 0; d < k && rc == SL_OK; d++) {
            if (strcmp(names[d], json_string_value(name)) != 0) continue;
            snprintf(c->err, sizeof(c->err),
                     "List of topics to reassign contains duplicate entries: %s", names[d]);
            rc = SL_E_INVALID;
        }
        if (rc != SL_OK) break;
        names[k++] =
            sl_arena_strndup(&c->arena, json_string_value(name), strlen(json_string_value(name)));
    }
    json_decref(root);
    *topics_out = names;
    *n_out = k;
    return rc;
}

static int reassign_generate(reassign_ctx *c) {
    const char **topics = NULL;
    size_t nt = 0;
    protocol_MetadataResponse md;
    reassign_part *current = NULL;
    size_t ncur = 0;
    int32_t brokers[1024], nb = 0;
    SL_TRY(reassign_topics_to_move(c, &topics, &nt));
    SL_TRY(reassign_current(c, topics, nt, &md, &current, &ncur));
    SL_TRY(reassign_parse_brokers(c, &md, brokers, &nb));
    reassign_part *proposed = sl_arena_array(&c->arena, ncur ? ncur : 1, sizeof(*proposed));
    uint64_t seed = sl_rand_os_seed();
    for (size_t i = 0; i < ncur;) {
        size_t k = i;
        while (k < ncur && strcmp(current[k].topic, current[i].topic) == 0) {
            k++;
        }
        int32_t rf = current[i].replica_count;
        if (rf > nb || nb == 0) {
            snprintf(c->err, sizeof(c->err),
                     "org.apache.kafka.common.errors.InvalidReplicationFactorException: "
                     "Replication factor: %d larger than available brokers: %d.",
                     rf, nb);
            return SL_E_INVALID;
        }
        reassign_round_robin(brokers, nb, (int32_t)(k - i), rf, seed + i, &proposed[i]);
        for (size_t p = i; p < k; p++) {
            proposed[p].topic = current[i].topic;
        }
        i = k;
    }
    printf("Current partition replica assignment\n");
    reassign_print_json(current, ncur);
    printf("\n\nProposed partition reassignment configuration\n");
    reassign_print_json(proposed, ncur);
    printf("\n");
    return SL_OK;
}

/* ---- execute ---- */

static int reassign_send(reassign_ctx *c, bool cancel, const bool *selected) {
    protocol_AlterPartitionReassignmentsRequest req;
    protocol_AlterPartitionReassignmentsRequest_init(&req);
    req.TimeoutMs = REASSIGN_TIMEOUT_MS;
    req.Topics.items = sl_arena_array(&c->arena, c->part_count, sizeof(*req.Topics.items));
    for (size_t i = 0; i < c->part_count; i++) {
        if (selected && !selected[i]) continue;
        protocol_AlterPartitionReassignmentsRequest_ReassignableTopic *t =
            &req.Topics.items[req.Topics.count++];
        t->Name = sl_str_c(c->parts[i].topic);
        t->Partitions.count = 1;
        t->Partitions.items = sl_arena_alloc(&c->arena, sizeof(*t->Partitions.items));
        t->Partitions.items[0].PartitionIndex = c->parts[i].partition;
        t->Partitions.items[0].Replicas.count = cancel ? -1 : c->parts[i].replica_count;
        t->Partitions.items[0].Replicas.items = c->parts[i].replicas;
    }
    protocol_AlterPartitionReassignmentsResponse resp;
    SL_TRY(tools_kc_call(c->kc, TOOLS_KC_ANY, 45, -1, &req, &resp, &c->arena, NULL, c->err,
                         sizeof(c->err)));
    size_t used = (size_t)snprintf(c->err, sizeof(c->err),
                                   cancel ? "Error cancelling partition reassignment for:"
                                          : "Error reassigning partition(s):");
    bool failed = false;
    for (int32_t i = 0; i < resp.Responses.count; i++) {
        const protocol_AlterPartitionReassignmentsResponse_ReassignableTopicResponse *t =
            &resp.Responses.items[i];
        for (int32_t k = 0; k < t->Partitions.count; k++) {
            const protocol_AlterPartitionReassignmentsResponse_ReassignablePartitionResponse *p =
                &t->Partitions.items[k];
            int16_t code = p->ErrorCode ? p->ErrorCode : resp.ErrorCode;
            if (code == 0) continue;
            char msg[512];
            tools_error_text(code, p->ErrorCode ? p->ErrorMessage.ptr : resp.ErrorMessage.ptr,
                             p->ErrorCode ? p->ErrorMessage.len : resp.ErrorMessage.len, msg,
                             sizeof(msg));
            int w = snprintf(c->err + used, sizeof(c->err) - used, "\n%.*s-%d: %s", t->Name.len,
                             t->Name.ptr, p->PartitionIndex, msg);
            if (w > 0 && (size_t)w < sizeof(c->err) - used) used += (size_t)w;
            failed = true;
        }
    }
    return failed ? SL_E_STATE : SL_OK;
}

static int reassign_execute(reassign_ctx *c) {
    SL_TRY(reassign_parse_plan(c));
    SL_TRY(reassign_check_plan(c));
    qsort(c->parts, c->part_count, sizeof(*c->parts), part_cmp);
    protocol_ListPartitionReassignmentsResponse ongoing;
    SL_TRY(reassign_ongoing(c, &ongoing));
    if (!tools_opts_has(c->o, "additional") && ongoing.Topics.count > 0) {
        snprintf(c->err, sizeof(c->err),
                 "Cannot execute because there is an existing partition "
                 "assignment.  Use --additional to override this and create a new partition "
                 "assignment in addition to the existing one. The --additional flag can also be "
                 "used to change the throttle by resubmitting the current reassignment.");
        return SL_E_STATE;
    }
    const char **topics = sl_arena_array(&c->arena, c->part_count, sizeof(char *));
    for (size_t i = 0; i < c->part_count; i++) {
        topics[i] = c->parts[i].topic;
    }
    protocol_MetadataResponse md;
    reassign_part *current = NULL;
    size_t ncur = 0;
    SL_TRY(reassign_current(c, topics, c->part_count, &md, &current, &ncur));
    for (size_t i = 0; i < c->part_count; i++) {
        for (int32_t r = 0; r < c->parts[i].replica_count; r++) {
            bool known = false;
            for (int32_t b = 0; b < md.Brokers.count && !known; b++) {
                known = md.Brokers.items[b].NodeId == c->parts[i].replicas[r];
            }
            if (known) continue;
            snprintf(c->err, sizeof(c->err), "Unknown broker id %d", c->parts[i].replicas[r]);
            return SL_E_INVALID;
        }
        if (!find_part(current, ncur, c->parts[i].topic, c->parts[i].partition)) {
            snprintf(c->err, sizeof(c->err), "%s: Unable to find partition: %s-%d",
                     tools_error_class(PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION), c->parts[i].topic,
                     c->parts[i].partition);
            return SL_E_NOT_FOUND;
        }
    }
    reassign_part *rollback = sl_arena_array(&c->arena, c->part_count, sizeof(*rollback));
    for (size_t i = 0; i < c->part_count; i++) {
        rollback[i] = *find_part(current, ncur, c->parts[i].topic, c->parts[i].partition);
    }
    printf("Current partition replica assignment\n\n");
    reassign_print_json(rollback, c->part_count);
    printf("\n\nSave this to use as the --reassignment-json-file option during rollback\n");
    int64_t throttle = tools_opts_int(c->o, "throttle");
    if (throttle >= 0) {
        printf("Warning: You must run --verify periodically, until the reassignment completes, to "
               "ensure the throttle is removed.\n");
        SL_TRY(reassign_set_throttles(c, current, ncur, throttle));
    }
    SL_TRY(reassign_send(c, false, NULL));
    printf("Successfully started partition reassignment%s for ", c->part_count == 1 ? "" : "s");
    for (size_t i = 0; i < c->part_count; i++) {
        printf("%s%s-%d", i ? "," : "", c->parts[i].topic, c->parts[i].partition);
    }
    printf("\n");
    return SL_OK;
}

/* ---- verify, cancel, list ---- */

static int reassign_verify(reassign_ctx *c) {
    SL_TRY(reassign_parse_plan(c));
    qsort(c->parts, c->part_count, sizeof(*c->parts), part_cmp);
    protocol_ListPartitionReassignmentsResponse ongoing;
    SL_TRY(reassign_ongoing(c, &ongoing));
    const char **topics =
        sl_arena_array(&c->arena, c->part_count ? c->part_count : 1, sizeof(char *));
    for (size_t i = 0; i < c->part_count; i++) {
        topics[i] = c->parts[i].topic;
    }
    protocol_MetadataResponse md;
    reassign_part *current = NULL;
    size_t ncur = 0;
    if (c->part_count) SL_TRY(reassign_current(c, topics, c->part_count, &md, &current, &ncur));
    printf("Status of partition reassignment:\n");
    for (size_t i = 0; i < c->part_count; i++) {
        const reassign_part *t = &c->parts[i];
        if (find_ongoing(&ongoing, t->topic, t->partition)) {
            printf("Reassignment of partition %s-%d is still in progress.\n", t->topic,
                   t->partition);
            continue;
        }
        const reassign_part *cur = find_part(current, ncur, t->topic, t->partition);
        bool same =
            cur && cur->replica_count == t->replica_count &&
            memcmp(cur->replicas, t->replicas, (size_t)t->replica_count * sizeof(int32_t)) == 0;
        if (same) {
            printf("Reassignment of partition %s-%d is completed.\n", t->topic, t->partition);
        } else {
            char have[512] = "", want[512];
            if (cur) ids_text(cur->replicas, cur->replica_count, have, sizeof(have));
            ids_text(t->replicas, t->replica_count, want, sizeof(want));
            printf(
                "There is no active reassignment of partition %s-%d, but replica set is %s rather "
                "than %s.\n",
                t->topic, t->partition, have, want);
        }
    }
    printf("\n"); /* Kafka prints the (empty) log directory move states */
    if (ongoing.Topics.count == 0 && !tools_opts_has(c->o, "preserve-throttles") && c->part_count) {
        reassign_clear_throttles(c, &md);
    }
    return SL_OK;
}

static int reassign_cancel(reassign_ctx *c) {
    SL_TRY(reassign_parse_plan(c));
    qsort(c->parts, c->part_count, sizeof(*c->parts), part_cmp);
    protocol_ListPartitionReassignmentsResponse ongoing;
    SL_TRY(reassign_ongoing(c, &ongoing));
    bool *selected = sl_arena_array(&c->arena, c->part_count ? c->part_count : 1, sizeof(bool));
    size_t n = 0;
    for (size_t i = 0; i < c->part_count; i++) {
        const protocol_ListPartitionReassignmentsResponse_OngoingPartitionReassignment *r =
            find_ongoing(&ongoing, c->parts[i].topic, c->parts[i].partition);
        /* Kafka cancels unless only replicas are being added with none removed yet. */
        selected[i] = r && (r->AddingReplicas.count == 0 || r->RemovingReplicas.count != 0);
        n += selected[i];
    }
    if (n == 0) {
        printf("None of the specified partition reassignments are active.\n");
    } else {
        SL_TRY(reassign_send(c, true, selected));
        printf("Successfully cancelled partition reassignment%s for: ", n == 1 ? "" : "s");
        for (size_t i = 0, k = 0; i < c->part_count; i++) {
            if (selected[i])
                printf("%s%s-%d", k++ ? "," : "", c->parts[i].topic, c->parts[i].partition);
        }
        printf("\n");
    }
    printf("None of the specified partition moves are active.");
    if (!tools_opts_has(c->o, "preserve-throttles")) {
        printf("\n");
        protocol_MetadataResponse md;
        static const char *const no_topics[1] = { NULL };
        SL_TRY(
            tools_kc_metadata(c->kc, no_topics, 0, &c->arena, &md, NULL, c->err, sizeof(c->err)));
        reassign_clear_throttles(c, &md);
    }
    return SL_OK;
}

static int reassign_list(reassign_ctx *c) {
    protocol_ListPartitionReassignmentsResponse ongoing;
    SL_TRY(reassign_ongoing(c, &ongoing));
    reassign_part *parts = sl_arena_array(&c->arena, 1024, sizeof(*parts));
    const protocol_ListPartitionReassignmentsResponse_OngoingPartitionReassignment **info =
        sl_arena_array(&c->arena, 1024, sizeof(*info));
    size_t n = 0;
    for (int32_t i = 0; i < ongoing.Topics.count; i++) {
        for (int32_t k = 0; k < ongoing.Topics.items[i].Partitions.count && n < 1024; k++) {
            parts[n].topic = tools_strndup_view(ongoing.Topics.items[i].Name.ptr,
                                                ongoing.Topics.items[i].Name.len);
            parts[n].partition = ongoing.Topics.items[i].Partitions.items[k].PartitionIndex;
            info[n++] = &ongoing.Topics.items[i].Partitions.items[k];
        }
    }
    if (n == 0) printf("No partition reassignments found.\n");
    if (n > 0) printf("Current partition reassignments:\n");
    for (size_t i = 0; i < n; i++) {
        char reps[512], add[512], rem[512];
        ids_text(info[i]->Replicas.items, info[i]->Replicas.count, reps, sizeof(reps));
        ids_text(info[i]->AddingReplicas.items, info[i]->AddingReplicas.count, add, sizeof(add));
        ids_text(info[i]->RemovingReplicas.items, info[i]->RemovingReplicas.count, rem,
                 sizeof(rem));
        printf("%s-%d: replicas: %s.%s%s%s%s%s%s\n", parts[i].topic, parts[i].partition, reps,
               add[0] ? " adding: " : "", add, add[0] ? "." : "", rem[0] ? " removing: " : "", rem,
               rem[0] ? "." : "");
        sl_free(parts[i].topic);
    }
    return SL_OK;
}

/* ---- arguments ---- */

static const char *reassign_action(const tools_opts *o, int *count_out) {
    static const char *const actions[] = { "generate", "execute", "verify", "cancel", "list" };
    const char *found = NULL;
    *count_out = 0;
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (!tools_opts_has(o, actions[i])) continue;
        found = actions[i];
        (*count_out)++;
    }
    return found;
}

/* Kafka's permitted and required arguments of each action. */
static int reassign_check_args(const tools_opts *o, const char **action_out) {
    int count = 0;
    const char *action = reassign_action(o, &count);
    if (count != 1) {
        fprintf(stderr, "Command must include exactly one action: --generate, --execute, --verify, "
                        "--cancel, --list\n");
        return TOOLS_EXIT_USAGE;
    }
    if (!tools_opts_has(o, "bootstrap-server")) {
        fprintf(stderr, "Please specify --bootstrap-server\n");
        return TOOLS_EXIT_USAGE;
    }
    static const char *const rules[][5] = {
        /* action, required, permitted… */
        { "verify", "reassignment-json-file", "preserve-throttles", NULL, NULL },
        { "generate", "topics-to-move-json-file", "broker-list", "disable-rack-aware", NULL },
        { "execute", "reassignment-json-file", "additional", "throttle", "timeout" },
        { "cancel", "reassignment-json-file", "preserve-throttles", "timeout", NULL },
        { "list", NULL, NULL, NULL, NULL },
    };
    static const char *const others[] = { "reassignment-json-file",
                                          "topics-to-move-json-file",
                                          "broker-list",
                                          "disable-rack-aware",
                                          "throttle",
                                          "replica-alter-log-dirs-throttle",
                                          "timeout",
                                          "additional",
                                          "preserve-throttles" };
    for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
        if (strcmp(rules[r][0], action) != 0) continue;
        if (rules[r][1] && !tools_opts_has(o, rules[r][1])) {
            fprintf(stderr, "Missing required argument \"[%s]\"\n", rules[r][1]);
            return TOOLS_EXIT_USAGE;
        }
        if (strcmp(action, "generate") == 0 && !tools_opts_has(o, "broker-list")) {
            fprintf(stderr, "Missing required argument \"[broker-list]\"\n");
            return TOOLS_EXIT_USAGE;
        }
        for (size_t k = 0; k < sizeof(others) / sizeof(others[0]); k++) {
            bool ok = strcmp(action, "execute") == 0 &&
                      strcmp(others[k], "replica-alter-log-dirs-throttle") == 0;
            for (int j = 1; j < 5 && !ok; j++) {
                ok = rules[r][j] && strcmp(rules[r][j], others[k]) == 0;
            }
            if (ok || !tools_opts_has(o, others[k])) continue;
            fprintf(stderr, "Option \"[%s]\" can't be used with action \"[%s]\"\n", others[k],
                    action);
            return TOOLS_EXIT_USAGE;
        }
    }
    *action_out = action;
    return TOOLS_EXIT_OK;
}

static int reassign_run(const tools_opts *o) {
    const char *action = NULL;
    int check = reassign_check_args(o, &action);
    if (check != TOOLS_EXIT_OK) return check;
    reassign_ctx c = { .o = o };
    if (tools_kc_open(tools_opts_str(o, "bootstrap-server"), tools_opts_str(o, "command-config"),
                      "reassign-partitions-tool", &c.kc, c.err, sizeof(c.err)) != SL_OK) {
        fprintf(stderr, "%s\n", c.err);
        return TOOLS_EXIT_FAIL;
    }
    sl_arena_init(&c.arena);
    int rc;
    if (strcmp(action, "generate") == 0) {
        rc = reassign_generate(&c);
    } else if (strcmp(action, "execute") == 0) {
        rc = reassign_execute(&c);
    } else if (strcmp(action, "verify") == 0) {
        rc = reassign_verify(&c);
    } else if (strcmp(action, "cancel") == 0) {
        rc = reassign_cancel(&c);
    } else {
        rc = reassign_list(&c);
    }
    if (rc != SL_OK) {
        bool terse = strncmp(c.err, "Error ", 6) == 0 || strncmp(c.err, "Cannot execute", 14) == 0;
        printf("%s%s\n", terse ? "" : "Error: ", c.err);
    }
    sl_arena_deinit(&c.arena);
    tools_kc_close(c.kc);
    return rc == SL_OK ? TOOLS_EXIT_OK : TOOLS_EXIT_FAIL;
}

const tools_command tools_cmd_reassign_partitions = {
    .name = "reassign-partitions",
    .summary = "move partition replicas between brokers",
    .description = "This tool helps to move topic partitions between replicas.",
    .opts = reassign_opts,
    .opt_count = sizeof(reassign_opts) / sizeof(reassign_opts[0]),
    .run = reassign_run,
};
