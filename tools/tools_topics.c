/* tools_topics.c — `sluice topics`: create, list, describe, alter (add partitions) and
 * delete topics, with the options and output of Kafka's kafka-topics.sh (TopicCommand):
 *
 *   Created topic hello.kafka.
 *   Topic: test	TopicId: 6Nd…	PartitionCount: 4	ReplicationFactor: 1	Configs:
 * min.insync.replicas=2 Topic: test	Partition: 0	Leader: 1	Replicas: 1	Isr: 1 Error
 * while executing topic command : Topic 'test' already exists.
 *
 * --topic is a regular expression for --list, --describe, --alter and --delete, as in
 * Kafka. Requests: Metadata (topics, partitions, leaders, ISR, topic ids), DescribeConfigs
 * (the non-default configs of the topic line and min.insync.replicas),
 * ListPartitionReassignments (adding/removing replicas), CreateTopics, CreatePartitions,
 * DeleteTopics — all through the tools' Kafka client. Partition lines end at Isr (the
 * layout before KIP-966's Elr columns). */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_arena.h"
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <stdlib.h>
#include <string.h>

#define TOPICS_TIMEOUT_MS 30000 /* CreateTopics/DeleteTopics/CreatePartitions timeoutMs */

static const tools_opt_def topics_opts[] = {
    { "bootstrap-server", TOOLS_OPT_STRING, 0, "server to connect to", NULL,
      "REQUIRED: The Kafka server to connect to." },
    { "command-config", TOOLS_OPT_STRING, 0, "command config property file", NULL,
      "Property file containing configs to be passed to Admin Client." },
    { "list", TOOLS_OPT_FLAG, 0, NULL, NULL, "List all available topics." },
    { "create", TOOLS_OPT_FLAG, 0, NULL, NULL, "Create a new topic." },
    { "delete", TOOLS_OPT_FLAG, 0, NULL, NULL, "Delete a topic." },
    { "alter", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Alter the number of partitions and replica assignment. (To alter topic configurations, "
      "the configs tool can be used.)" },
    { "describe", TOOLS_OPT_FLAG, 0, NULL, NULL, "List details for the given topics." },
    { "topic", TOOLS_OPT_STRING, 0, "topic", NULL,
      "The topic to create, alter, describe or delete. It also accepts a regular expression, "
      "except for --create option." },
    { "config", TOOLS_OPT_LIST, 0, "name=value", NULL,
      "A topic configuration override for the topic being created. It is supported only in "
      "combination with --create. (To alter topic configurations, the configs tool can be "
      "used.)" },
    { "partitions", TOOLS_OPT_INT, 0, "# of partitions", NULL,
      "The number of partitions for the topic being created or altered. If not supplied with "
      "--create, the topic uses the cluster default." },
    { "replication-factor", TOOLS_OPT_INT, 0, "replication factor", NULL,
      "The replication factor for each partition in the topic being created. If not supplied, "
      "the topic uses the cluster default." },
    { "replica-assignment", TOOLS_OPT_STRING, 0,
      "broker_id_for_part1_replica1 : broker_id_for_part1_replica2 , "
      "broker_id_for_part2_replica1 : broker_id_for_part2_replica2 , ...",
      NULL,
      "A list of manual partition-to-broker assignments for the topic being created or "
      "altered." },
    { "under-replicated-partitions", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "If set when describing topics, only show under-replicated partitions." },
    { "unavailable-partitions", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "If set when describing topics, only show partitions whose leader is not available." },
    { "under-min-isr-partitions", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "If set when describing topics, only show partitions whose isr count is less than the "
      "configured minimum." },
    { "at-min-isr-partitions", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "If set when describing topics, only show partitions whose isr count is equal to the "
      "configured minimum." },
    { "topics-with-overrides", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "If set when describing topics, only show topics that have overridden configs." },
    { "if-exists", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "If set when altering or deleting or describing topics, the action will only execute if "
      "the topic exists." },
    { "if-not-exists", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "If set when creating topics, the action will only execute if the topic does not "
      "already exist." },
    { "exclude-internal", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Exclude internal topics when running list or describe command. The internal topics "
      "will be listed by default." },
};

/* What one run works with: the client, an arena for every request and response. */
typedef struct topics_ctx {
    const tools_opts *o;
    tools_kc *kc;
    sl_arena arena;
    char err[1024];
} topics_ctx;

static void topics_fail(const char *msg) {
    printf("Error while executing topic command : %s\n", msg);
}

/* ---- argument checks (TopicCommandOptions.checkArgs) ---- */

static int topics_action_count(const tools_opts *o) {
    static const char *const actions[] = { "create", "list", "alter", "describe", "delete" };
    int n = 0;
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        n += tools_opts_has(o, actions[i]);
    }
    return n;
}

/* An option that only some actions accept: "Option "[x]" can't be used with option "[y]"". */
static bool topics_only_with(const tools_opts *o,
                             const char *opt,
                             const char *const *allowed,
                             size_t allowed_count) {
    static const char *const actions[] = { "alter", "create", "describe", "list", "delete" };
    if (!tools_opts_has(o, opt)) return true;
    for (size_t a = 0; a < sizeof(actions) / sizeof(actions[0]); a++) {
        if (!tools_opts_has(o, actions[a])) continue;
        bool ok = false;
        for (size_t k = 0; k < allowed_count; k++) {
            ok = ok || strcmp(allowed[k], actions[a]) == 0;
        }
        if (!ok) {
            fprintf(stderr, "Option \"[%s]\" can't be used with option \"[%s]\"\n", opt,
                    actions[a]);
            return false;
        }
    }
    return true;
}

static int topics_check_args(const tools_opts *o) {
    if (topics_action_count(o) != 1) {
        fprintf(stderr, "Command must include exactly one action: --list, --describe, --create, "
                        "--alter or --delete\n");
        return TOOLS_EXIT_USAGE;
    }
    if (!tools_opts_has(o, "bootstrap-server") && !tools_opts_has(o, "command-config")) {
        fprintf(stderr, "--bootstrap-server must be specified\n");
        return TOOLS_EXIT_FAIL;
    }
    if (!tools_opts_has(o, "list") && !tools_opts_has(o, "describe") &&
        !tools_opts_has(o, "topic")) {
        fprintf(stderr, "Missing required argument \"[topic]\"\n");
        return TOOLS_EXIT_USAGE;
    }
    if (tools_opts_has(o, "alter") && tools_opts_has(o, "config")) {
        fprintf(stderr, "Option combination \"[bootstrap-server],[config]\" can't be used with "
                        "option \"[alter]\" (To alter topic configurations, the configs tool can "
                        "be used.)\n");
        return TOOLS_EXIT_USAGE;
    }
    if (tools_opts_has(o, "alter") && !tools_opts_has(o, "partitions")) {
        fprintf(stderr, "Missing required argument \"[partitions]\"\n");
        return TOOLS_EXIT_USAGE;
    }
    static const char *const create_alter[] = { "alter", "create" };
    static const char *const create[] = { "create" };
    static const char *const describe[] = { "describe" };
    static const char *const list_describe[] = { "list", "describe" };
    static const char *const alter_delete_describe[] = { "alter", "delete", "describe" };
    bool ok = topics_only_with(o, "config", create_alter, 2) &&
              topics_only_with(o, "partitions", create_alter, 2) &&
              topics_only_with(o, "replication-factor", create, 1) &&
              topics_only_with(o, "replica-assignment", create_alter, 2) &&
              topics_only_with(o, "under-replicated-partitions", describe, 1) &&
              topics_only_with(o, "unavailable-partitions", describe, 1) &&
              topics_only_with(o, "under-min-isr-partitions", describe, 1) &&
              topics_only_with(o, "at-min-isr-partitions", describe, 1) &&
              topics_only_with(o, "topics-with-overrides", describe, 1) &&
              topics_only_with(o, "if-exists", alter_delete_describe, 3) &&
              topics_only_with(o, "if-not-exists", create, 1) &&
              topics_only_with(o, "exclude-internal", list_describe, 2);
    if (ok && tools_opts_has(o, "create") && tools_opts_has(o, "replica-assignment") &&
        (tools_opts_has(o, "partitions") || tools_opts_has(o, "replication-factor"))) {
        fprintf(stderr, "Option \"[replica-assignment]\" can't be used with option "
                        "\"[partitions]\" or \"[replication-factor]\"\n");
        ok = false;
    }
    return ok ? TOOLS_EXIT_OK : TOOLS_EXIT_USAGE;
}

/* ---- metadata ---- */

static int topic_cmp(const void *a, const void *b) {
    const protocol_MetadataResponse_MetadataResponseTopic *x = a, *y = b;
    int32_t n = x->Name.len < y->Name.len ? x->Name.len : y->Name.len;
    int c = memcmp(x->Name.ptr, y->Name.ptr, (size_t)(n > 0 ? n : 0));
    return c ? c : (x->Name.len > y->Name.len) - (x->Name.len < y->Name.len);
}

static int partition_cmp(const void *a, const void *b) {
    const protocol_MetadataResponse_MetadataResponsePartition *x = a, *y = b;
    return (x->PartitionIndex > y->PartitionIndex) - (x->PartitionIndex < y->PartitionIndex);
}

/* Every topic (sorted by name, partitions by index); topics that fail the --topic filter or
 * --exclude-internal get Name.len = -1 so callers skip them. *matched_out counts the rest. */
static int topics_select(topics_ctx *c, protocol_MetadataResponse *md, int *matched_out) {
    SL_TRY(tools_kc_metadata(c->kc, NULL, 0, &c->arena, md, NULL, c->err, sizeof(c->err)));
    tools_topic_filter *filter = NULL;
    const char *regex = tools_opts_str(c->o, "topic");
    if (regex && tools_topic_filter_new(regex, &filter, c->err, sizeof(c->err)) != SL_OK) {
        return SL_E_INVALID;
    }
    bool exclude_internal = tools_opts_has(c->o, "exclude-internal");
    qsort(md->Topics.items, (size_t)md->Topics.count, sizeof(*md->Topics.items), topic_cmp);
    int matched = 0;
    for (int32_t i = 0; i < md->Topics.count; i++) {
        protocol_MetadataResponse_MetadataResponseTopic *t = &md->Topics.items[i];
        bool internal = t->IsInternal || tools_topic_is_internal(t->Name.ptr, (size_t)t->Name.len);
        bool keep = t->Name.len > 0 && !(exclude_internal && internal) &&
                    (!filter || tools_topic_filter_match(filter, t->Name.ptr, (size_t)t->Name.len));
        if (!keep) {
            t->Name.len = -1;
            continue;
        }
        qsort(t->Partitions.items, (size_t)t->Partitions.count, sizeof(*t->Partitions.items),
              partition_cmp);
        matched++;
    }
    tools_topic_filter_free(filter);
    *matched_out = matched;
    return SL_OK;
}

/* TopicCommand.ensureTopicExists: a --topic that matched nothing is an error unless
 * --if-exists. Returns true to go on. */
static bool topics_ensure_exists(topics_ctx *c, int matched, int *exit_code) {
    const char *topic = tools_opts_str(c->o, "topic");
    if (matched > 0 || !topic || !topic[0] || tools_opts_has(c->o, "if-exists")) return true;
    fprintf(stderr, "Topic '%s' does not exist as expected\n", topic);
    *exit_code = TOOLS_EXIT_FAIL;
    return false;
}

/* ---- list ---- */

static int topics_list(topics_ctx *c) {
    protocol_MetadataResponse md;
    int matched = 0;
    if (topics_select(c, &md, &matched) != SL_OK) {
        topics_fail(c->err);
        return TOOLS_EXIT_FAIL;
    }
    /* Kafka prints the names joined by newlines, then a newline: an empty line when none. */
    bool first = true;
    for (int32_t i = 0; i < md.Topics.count; i++) {
        const protocol_MetadataResponse_MetadataResponseTopic *t = &md.Topics.items[i];
        if (t->Name.len < 0) continue;
        printf("%s%.*s", first ? "" : "\n", t->Name.len, t->Name.ptr);
        first = false;
    }
    printf("\n");
    return TOOLS_EXIT_OK;
}

/* ---- create ---- */

/* "k=v" with Kafka's split on \s*=\s* into exactly two parts. */
static int topics_parse_configs(topics_ctx *c,
                                protocol_CreateTopicsRequest_CreatableTopicConfig_array *out) {
    const tools_opt_value *v = tools_opts_get(c->o, "config");
    out->count = (int32_t)v->list_count;
    out->items = sl_arena_array(&c->arena, v->list_count ? v->list_count : 1, sizeof(*out->items));
    for (size_t i = 0; i < v->list_count; i++) {
        const char *kv = v->list[i];
        const char *eq = strchr(kv, '=');
        if (!eq || strchr(eq + 1, '=') || eq == kv) {
            fprintf(stderr, "requirement failed: Invalid topic config: all configs to be added "
                            "must be in the format \"key=val\".\n");
            return SL_E_INVALID;
        }
        size_t klen = (size_t)(eq - kv);
        while (klen > 0 && (kv[klen - 1] == ' ' || kv[klen - 1] == '\t')) {
            klen--;
        }
        const char *val = eq + 1;
        while (*val == ' ' || *val == '\t') {
            val++;
        }
        protocol_CreateTopicsRequest_CreatableTopicConfig_init(&out->items[i]);
        out->items[i].Name = (sl_str){ sl_arena_strndup(&c->arena, kv, klen), (int32_t)klen };
        out->items[i].Value = sl_str_c(val);
    }
    return SL_OK;
}

/* --replica-assignment "1:2,2:3" → one broker list per partition, in order. */
static int topics_parse_assignment(topics_ctx *c,
                                   const char *text,
                                   protocol_int32_array **lists_out,
                                   int32_t *count_out) {
    char *copy = sl_arena_strndup(&c->arena, text, strlen(text));
    int32_t parts = 1;
    for (const char *p = copy; *p; p++) {
        parts += *p == ',';
    }
    protocol_int32_array *lists = sl_arena_array(&c->arena, (size_t)parts, sizeof(*lists));
    char *save = NULL;
    int32_t n = 0;
    for (char *part = strtok_r(copy, ",", &save); part && n < parts;
         part = strtok_r(NULL, ",", &save)) {
        int32_t ids[256];
        int32_t k = 0;
        char *save2 = NULL;
        for (char *id = strtok_r(part, ":", &save2); id; id = strtok_r(NULL, ":", &save2)) {
            while (*id == ' ') {
                id++;
            }
            char *end = id + strlen(id);
            while (end > id && end[-1] == ' ') {
                *--end = '\0';
            }
            if (k == 256 || !tools_parse_i32(id, &ids[k])) {
                printf("Error while executing topic command : For input string: \"%s\"\n", id);
                return SL_E_INVALID;
            }
            for (int32_t j = 0; j < k; j++) {
                if (ids[j] == ids[k]) {
                    printf("Error while executing topic command : Partition replica lists may "
                           "not contain duplicate entries: %d\n",
                           ids[k]);
                    return SL_E_INVALID;
                }
            }
            k++;
        }
        if (n > 0 && k != lists[0].count) {
            printf("Error while executing topic command : Partition %d has different "
                   "replication factor: [%s]\n",
                   n, part);
            return SL_E_INVALID;
        }
        lists[n].count = k;
        lists[n].items = sl_arena_array(&c->arena, (size_t)(k ? k : 1), sizeof(int32_t));
        memcpy(lists[n].items, ids, (size_t)k * sizeof(int32_t));
        n++;
    }
    *lists_out = lists;
    *count_out = n;
    return SL_OK;
}

static int topics_create_check(const tools_opts *o, const char *topic) {
    const char *bad = tools_topic_invalid_reason(topic);
    if (bad) {
        topics_fail(bad);
        return TOOLS_EXIT_FAIL;
    }
    if (strchr(topic, '.') || strchr(topic, '_')) {
        printf("WARNING: Due to limitations in metric names, topics with a period ('.') or "
               "underscore ('_') could collide. To avoid issues it is best to use either, but "
               "not both.\n");
    }
    int64_t rf = tools_opts_int(o, "replication-factor");
    if (tools_opts_has(o, "replication-factor") && (rf < 1 || rf > 32767)) {
        fprintf(stderr, "The replication factor must be between 1 and 32767 inclusive\n");
        return TOOLS_EXIT_FAIL;
    }
    if (tools_opts_has(o, "partitions") && tools_opts_int(o, "partitions") < 1) {
        fprintf(stderr, "The partitions must be greater than 0\n");
        return TOOLS_EXIT_FAIL;
    }
    return TOOLS_EXIT_OK;
}

static int topics_create(topics_ctx *c) {
    const char *topic = tools_opts_str(c->o, "topic");
    int check = topics_create_check(c->o, topic);
    if (check != TOOLS_EXIT_OK) return check;
    protocol_CreateTopicsRequest_CreatableTopic t;
    protocol_CreateTopicsRequest_CreatableTopic_init(&t);
    t.Name = sl_str_c(topic);
    t.NumPartitions =
        tools_opts_has(c->o, "partitions") ? (int32_t)tools_opts_int(c->o, "partitions") : -1;
    t.ReplicationFactor = tools_opts_has(c->o, "replication-factor")
                              ? (int16_t)tools_opts_int(c->o, "replication-factor")
                              : -1;
    if (topics_parse_configs(c, &t.Configs) != SL_OK) return TOOLS_EXIT_FAIL;
    if (tools_opts_has(c->o, "replica-assignment")) {
        protocol_int32_array *lists = NULL;
        int32_t n = 0;
        if (topics_parse_assignment(c, tools_opts_str(c->o, "replica-assignment"), &lists, &n) !=
            SL_OK) {
            return TOOLS_EXIT_FAIL;
        }
        t.Assignments.count = n;
        t.Assignments.items = sl_arena_array(&c->arena, (size_t)n, sizeof(*t.Assignments.items));
        for (int32_t i = 0; i < n; i++) {
            t.Assignments.items[i].PartitionIndex = i;
            t.Assignments.items[i].BrokerIds = lists[i];
        }
    }
    protocol_CreateTopicsRequest req;
    protocol_CreateTopicsRequest_init(&req);
    req.Topics.count = 1;
    req.Topics.items = &t;
    req.timeoutMs = TOPICS_TIMEOUT_MS;
    protocol_CreateTopicsResponse resp;
    if (tools_kc_call(c->kc, TOOLS_KC_ANY, 19, -1, &req, &resp, &c->arena, NULL, c->err,
                      sizeof(c->err)) != SL_OK) {
        topics_fail(c->err);
        return TOOLS_EXIT_FAIL;
    }
    int16_t code =
        resp.Topics.count > 0 ? resp.Topics.items[0].ErrorCode : PROTOCOL_ERR_UNKNOWN_SERVER_ERROR;
    if (code == PROTOCOL_ERR_TOPIC_ALREADY_EXISTS && tools_opts_has(c->o, "if-not-exists")) {
        return TOOLS_EXIT_OK;
    }
    if (code != 0) {
        const protocol_CreateTopicsResponse_CreatableTopicResult *r =
            resp.Topics.count > 0 ? &resp.Topics.items[0] : NULL;
        tools_error_text(code, r ? r->ErrorMessage.ptr : NULL, r ? r->ErrorMessage.len : -1, c->err,
                         sizeof(c->err));
        topics_fail(c->err);
        return TOOLS_EXIT_FAIL;
    }
    printf("Created topic %s.\n", topic);
    return TOOLS_EXIT_OK;
}

/* ---- alter (add partitions) ---- */

static void topics_alter_fill(topics_ctx *c,
                              const protocol_MetadataResponse_MetadataResponseTopic *t,
                              protocol_CreatePartitionsRequest_CreatePartitionsTopic *out,
                              const protocol_int32_array *lists,
                              int32_t list_count) {
    protocol_CreatePartitionsRequest_CreatePartitionsTopic_init(out);
    out->Name = t->Name;
    out->Count = (int32_t)tools_opts_int(c->o, "partitions");
    out->Assignments.count = -1;
    if (!lists) return;
    /* Kafka skips the assignment entries of the partitions that already exist. */
    int32_t start = t->Partitions.count;
    int32_t n = list_count > start ? list_count - start : 0;
    out->Assignments.count = n;
    out->Assignments.items =
        sl_arena_array(&c->arena, (size_t)(n ? n : 1), sizeof(*out->Assignments.items));
    for (int32_t i = 0; i < n; i++) {
        out->Assignments.items[i].BrokerIds = lists[start + i];
    }
}

/* A message for a refused partition count when the broker sent none (KRaft's wording). */
static void topics_alter_message(const protocol_MetadataResponse_MetadataResponseTopic *t,
                                 int32_t want,
                                 int16_t code,
                                 char *out,
                                 size_t out_size) {
    if (code == PROTOCOL_ERR_INVALID_PARTITIONS && want == t->Partitions.count) {
        snprintf(out, out_size, "Topic already has %d partition(s).", want);
    } else if (code == PROTOCOL_ERR_INVALID_PARTITIONS && want < t->Partitions.count) {
        snprintf(out, out_size,
                 "The topic %.*s currently has %d partition(s); %d would not be an increase.",
                 t->Name.len, t->Name.ptr, t->Partitions.count, want);
    } else {
        snprintf(out, out_size, "%s", tools_error_message(code));
    }
}

static int topics_alter(topics_ctx *c) {
    protocol_MetadataResponse md;
    int matched = 0, exit_code = TOOLS_EXIT_OK;
    if (topics_select(c, &md, &matched) != SL_OK) {
        topics_fail(c->err);
        return TOOLS_EXIT_FAIL;
    }
    if (!topics_ensure_exists(c, matched, &exit_code) || matched == 0) return exit_code;
    protocol_int32_array *lists = NULL;
    int32_t list_count = 0;
    if (tools_opts_has(c->o, "replica-assignment") &&
        topics_parse_assignment(c, tools_opts_str(c->o, "replica-assignment"), &lists,
                                &list_count) != SL_OK) {
        return TOOLS_EXIT_FAIL;
    }
    protocol_CreatePartitionsRequest req;
    protocol_CreatePartitionsRequest_init(&req);
    req.Topics.items = sl_arena_array(&c->arena, (size_t)matched, sizeof(*req.Topics.items));
    for (int32_t i = 0; i < md.Topics.count; i++) {
        if (md.Topics.items[i].Name.len < 0) continue;
        topics_alter_fill(c, &md.Topics.items[i], &req.Topics.items[req.Topics.count++], lists,
                          list_count);
    }
    req.TimeoutMs = TOPICS_TIMEOUT_MS;
    protocol_CreatePartitionsResponse resp;
    if (tools_kc_call(c->kc, TOOLS_KC_ANY, 37, -1, &req, &resp, &c->arena, NULL, c->err,
                      sizeof(c->err)) != SL_OK) {
        topics_fail(c->err);
        return TOOLS_EXIT_FAIL;
    }
    for (int32_t i = 0; i < resp.Results.count; i++) {
        const protocol_CreatePartitionsResponse_CreatePartitionsTopicResult *r =
            &resp.Results.items[i];
        if (r->ErrorCode == 0) continue;
        if (r->ErrorMessage.len > 0) {
            tools_error_text(r->ErrorCode, r->ErrorMessage.ptr, r->ErrorMessage.len, c->err,
                             sizeof(c->err));
        } else {
            const protocol_MetadataResponse_MetadataResponseTopic *t = NULL;
            for (int32_t k = 0; k < md.Topics.count && !t; k++) {
                if (sl_str_eq(md.Topics.items[k].Name, r->Name)) t = &md.Topics.items[k];
            }
            topics_alter_message(t ? t : &md.Topics.items[0],
                                 (int32_t)tools_opts_int(c->o, "partitions"), r->ErrorCode, c->err,
                                 sizeof(c->err));
        }
        topics_fail(c->err);
        return TOOLS_EXIT_FAIL; /* Kafka reports the first failed future */
    }
    return TOOLS_EXIT_OK;
}

/* ---- delete ---- */

static int topics_delete(topics_ctx *c) {
    protocol_MetadataResponse md;
    int matched = 0, exit_code = TOOLS_EXIT_OK;
    if (topics_select(c, &md, &matched) != SL_OK) {
        topics_fail(c->err);
        return TOOLS_EXIT_FAIL;
    }
    if (!topics_ensure_exists(c, matched, &exit_code) || matched == 0) return exit_code;
    protocol_DeleteTopicsRequest req;
    protocol_DeleteTopicsRequest_init(&req);
    req.TopicNames.items = sl_arena_array(&c->arena, (size_t)matched, sizeof(sl_str));
    req.Topics.items = sl_arena_array(&c->arena, (size_t)matched, sizeof(*req.Topics.items));
    for (int32_t i = 0; i < md.Topics.count; i++) {
        if (md.Topics.items[i].Name.len < 0) continue;
        req.TopicNames.items[req.TopicNames.count++] = md.Topics.items[i].Name;
        protocol_DeleteTopicsRequest_DeleteTopicState_init(&req.Topics.items[req.Topics.count]);
        req.Topics.items[req.Topics.count++].Name = md.Topics.items[i].Name;
    }
    req.TimeoutMs = TOPICS_TIMEOUT_MS;
    protocol_DeleteTopicsResponse resp;
    if (tools_kc_call(c->kc, TOOLS_KC_ANY, 20, -1, &req, &resp, &c->arena, NULL, c->err,
                      sizeof(c->err)) != SL_OK) {
        topics_fail(c->err);
        return TOOLS_EXIT_FAIL;
    }
    for (int32_t i = 0; i < resp.Responses.count; i++) {
        const protocol_DeleteTopicsResponse_DeletableTopicResult *r = &resp.Responses.items[i];
        if (r->ErrorCode == 0) continue;
        tools_error_text(r->ErrorCode, r->ErrorMessage.ptr, r->ErrorMessage.len, c->err,
                         sizeof(c->err));
        topics_fail(c->err);
        return TOOLS_EXIT_FAIL;
    }
    return TOOLS_EXIT_OK;
}

/* ---- describe ---- */

typedef struct topics_reassign {
    const protocol_ListPartitionReassignmentsResponse *resp; /* NULL when unsupported */
} topics_reassign;

static const protocol_ListPartitionReassignmentsResponse_OngoingPartitionReassignment *
topics_reassign_find(const topics_reassign *ra, sl_str topic, int32_t partition) {
    if (!ra->resp) return NULL;
    for (int32_t i = 0; i < ra->resp->Topics.count; i++) {
        const protocol_ListPartitionReassignmentsResponse_OngoingTopicReassignment *t =
            &ra->resp->Topics.items[i];
        if (!sl_str_eq(t->Name, topic)) continue;
        for (int32_t k = 0; k < t->Partitions.count; k++) {
            if (t->Partitions.items[k].PartitionIndex == partition) return &t->Partitions.items[k];
        }
    }
    return NULL;
}

/* All ongoing reassignments; an old or refusing broker means none (as Kafka does). */
static void topics_reassign_load(topics_ctx *c, topics_reassign *ra) {
    protocol_ListPartitionReassignmentsRequest req;
    protocol_ListPartitionReassignmentsRequest_init(&req);
    req.Topics.count = -1;
    protocol_ListPartitionReassignmentsResponse *resp = sl_arena_alloc(&c->arena, sizeof(*resp));
    char err[256];
    ra->resp = NULL;
    if (tools_kc_call(c->kc, TOOLS_KC_ANY, 46, -1, &req, resp, &c->arena, NULL, err, sizeof(err)) ==
            SL_OK &&
        resp->ErrorCode == 0) {
        ra->resp = resp;
    }
}

/* DescribeConfigs for every selected topic in one request; NULL result when unsupported. */
static const protocol_DescribeConfigsResponse *
topics_configs_load(topics_ctx *c, const protocol_MetadataResponse *md, int matched) {
    protocol_DescribeConfigsRequest req;
    protocol_DescribeConfigsRequest_init(&req);
    req.Resources.items = sl_arena_array(&c->arena, (size_t)matched, sizeof(*req.Resources.items));
    for (int32_t i = 0; i < md->Topics.count; i++) {
        if (md->Topics.items[i].Name.len < 0) continue;
        protocol_DescribeConfigsRequest_DescribeConfigsResource *r =
            &req.Resources.items[req.Resources.count++];
        protocol_DescribeConfigsRequest_DescribeConfigsResource_init(r);
        r->ResourceType = 2; /* TOPIC */
        r->ResourceName = md->Topics.items[i].Name;
        r->ConfigurationKeys.count = -1;
    }
    protocol_DescribeConfigsResponse *resp = sl_arena_alloc(&c->arena, sizeof(*resp));
    char err[256];
    if (tools_kc_call(c->kc, TOOLS_KC_ANY, 32, -1, &req, resp, &c->arena, NULL, err, sizeof(err)) !=
        SL_OK) {
        return NULL;
    }
    return resp;
}

/* The topic's configs: non-default "k=v,…" into out, its min.insync.replicas. */
static bool topics_config_of(const protocol_DescribeConfigsResponse *cfg,
                             sl_str topic,
                             char *out,
                             size_t out_size,
                             int32_t *min_isr_out) {
    bool non_default = false;
    size_t used = 0;
    out[0] = '\0';
    *min_isr_out = 1;
    for (int32_t i = 0; cfg && i < cfg->Results.count; i++) {
        const protocol_DescribeConfigsResponse_DescribeConfigsResult *r = &cfg->Results.items[i];
        if (!sl_str_eq(r->ResourceName, topic) || r->ErrorCode != 0) continue;
        for (int32_t k = 0; k < r->Configs.count; k++) {
            const protocol_DescribeConfigsResponse_DescribeConfigsResourceResult *e =
                &r->Configs.items[k];
            if (sl_str_eq_c(e->Name, "min.insync.replicas") && e->Value.len > 0) {
                char num[16];
                snprintf(num, sizeof(num), "%.*s", e->Value.len < 15 ? e->Value.len : 15,
                         e->Value.ptr);
                *min_isr_out = atoi(num);
            }
            bool is_default = e->ConfigSource >= 0 ? e->ConfigSource == 5 : e->IsDefault;
            if (is_default) continue;
            non_default = true;
            int n = snprintf(out + used, out_size - used, "%s%.*s=%.*s", used ? "," : "",
                             e->Name.len, e->Name.ptr, e->Value.len >= 0 ? e->Value.len : 4,
                             e->Value.len >= 0 ? e->Value.ptr : "null");
            if (n > 0 && (size_t)n < out_size - used) used += (size_t)n;
        }
    }
    return non_default;
}

static void topics_print_ids(const char *label, const int32_t *ids, int32_t count) {
    printf("\t%s: ", label);
    for (int32_t i = 0; i < count; i++) {
        printf("%s%d", i ? "," : "", ids[i]);
    }
}

static bool topics_broker_live(const protocol_MetadataResponse *md, int32_t id) {
    for (int32_t i = 0; i < md->Brokers.count; i++) {
        if (md->Brokers.items[i].NodeId == id) return true;
    }
    return false;
}

static int32_t
topics_rf(const protocol_MetadataResponse_MetadataResponsePartition *p,
          const protocol_ListPartitionReassignmentsResponse_OngoingPartitionReassignment *ra) {
    if (ra && (ra->AddingReplicas.count > 0 || ra->RemovingReplicas.count > 0)) {
        return ra->Replicas.count - ra->AddingReplicas.count;
    }
    return p->ReplicaNodes.count;
}

/* Kafka's DescribeOptions: with a report option only matching partitions are printed. */
static bool topics_partition_wanted(const topics_ctx *c,
                                    const protocol_MetadataResponse *md,
                                    const protocol_MetadataResponse_MetadataResponsePartition *p,
                                    int32_t rf,
                                    int32_t min_isr) {
    const tools_opts *o = c->o;
    bool under = tools_opts_has(o, "under-replicated-partitions");
    bool unavail = tools_opts_has(o, "unavailable-partitions");
    bool under_min = tools_opts_has(o, "under-min-isr-partitions");
    bool at_min = tools_opts_has(o, "at-min-isr-partitions");
    if (!under && !unavail && !under_min && !at_min) return true;
    bool has_leader = p->LeaderId >= 0;
    return (under && rf - p->IsrNodes.count > 0) ||
           (unavail && (!has_leader || !topics_broker_live(md, p->LeaderId))) ||
           (under_min && (!has_leader || p->IsrNodes.count < min_isr)) ||
           (at_min && p->IsrNodes.count == min_isr);
}

static void topics_print_partition(
    const protocol_MetadataResponse_MetadataResponseTopic *t,
    const protocol_MetadataResponse_MetadataResponsePartition *p,
    const protocol_ListPartitionReassignmentsResponse_OngoingPartitionReassignment *ra) {
    printf("\tTopic: %.*s\tPartition: %d\tLeader: ", t->Name.len, t->Name.ptr, p->PartitionIndex);
    if (p->LeaderId >= 0) {
        printf("%d", p->LeaderId);
    } else {
        printf("none");
    }
    topics_print_ids("Replicas", p->ReplicaNodes.items, p->ReplicaNodes.count);
    topics_print_ids("Isr", p->IsrNodes.items, p->IsrNodes.count);
    if (ra) {
        topics_print_ids("Adding Replicas", ra->AddingReplicas.items, ra->AddingReplicas.count);
        topics_print_ids("Removing Replicas", ra->RemovingReplicas.items,
                         ra->RemovingReplicas.count);
    }
    printf("\n");
}

static void topics_describe_one(topics_ctx *c,
                                const protocol_MetadataResponse *md,
                                const protocol_MetadataResponse_MetadataResponseTopic *t,
                                const protocol_DescribeConfigsResponse *cfg,
                                const topics_reassign *reassign) {
    char configs[8192];
    int32_t min_isr = 1;
    bool non_default = topics_config_of(cfg, t->Name, configs, sizeof(configs), &min_isr);
    const tools_opts *o = c->o;
    bool report = tools_opts_has(o, "under-replicated-partitions") ||
                  tools_opts_has(o, "unavailable-partitions") ||
                  tools_opts_has(o, "under-min-isr-partitions") ||
                  tools_opts_has(o, "at-min-isr-partitions");
    bool overrides = tools_opts_has(o, "topics-with-overrides");
    if (!report && (!overrides || non_default) && t->Partitions.count > 0) {
        const protocol_MetadataResponse_MetadataResponsePartition *first = &t->Partitions.items[0];
        printf("Topic: %.*s", t->Name.len, t->Name.ptr);
        if (!protocol_uuid_is_zero(&t->TopicId)) {
            char id[32];
            tools_uuid_format(t->TopicId.b, id, sizeof(id));
            printf("\tTopicId: %s", id);
        }
        printf("\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n", t->Partitions.count,
               topics_rf(first, topics_reassign_find(reassign, t->Name, first->PartitionIndex)),
               configs);
    }
    if (overrides) return;
    for (int32_t i = 0; i < t->Partitions.count; i++) {
        const protocol_MetadataResponse_MetadataResponsePartition *p = &t->Partitions.items[i];
        const protocol_ListPartitionReassignmentsResponse_OngoingPartitionReassignment *ra =
            topics_reassign_find(reassign, t->Name, p->PartitionIndex);
        if (topics_partition_wanted(c, md, p, topics_rf(p, ra), min_isr)) {
            topics_print_partition(t, p, ra);
        }
    }
}

static int topics_describe(topics_ctx *c) {
    protocol_MetadataResponse md;
    int matched = 0, exit_code = TOOLS_EXIT_OK;
    if (topics_select(c, &md, &matched) != SL_OK) {
        topics_fail(c->err);
        return TOOLS_EXIT_FAIL;
    }
    if (!topics_ensure_exists(c, matched, &exit_code) || matched == 0) return exit_code;
    const protocol_DescribeConfigsResponse *cfg = topics_configs_load(c, &md, matched);
    topics_reassign reassign;
    topics_reassign_load(c, &reassign);
    for (int32_t i = 0; i < md.Topics.count; i++) {
        const protocol_MetadataResponse_MetadataResponseTopic *t = &md.Topics.items[i];
        if (t->Name.len < 0) continue;
        if (t->ErrorCode != 0) {
            tools_error_text(t->ErrorCode, NULL, -1, c->err, sizeof(c->err));
            topics_fail(c->err);
            return TOOLS_EXIT_FAIL;
        }
        topics_describe_one(c, &md, t, cfg, &reassign);
    }
    return TOOLS_EXIT_OK;
}

static int topics_run(const tools_opts *o) {
    int check = topics_check_args(o);
    if (check != TOOLS_EXIT_OK) return check;
    topics_ctx c = { .o = o };
    if (tools_kc_open(tools_opts_str(o, "bootstrap-server"), tools_opts_str(o, "command-config"),
                      "topics", &c.kc, c.err, sizeof(c.err)) != SL_OK) {
        fprintf(stderr, "%s\n", c.err);
        return TOOLS_EXIT_FAIL;
    }
    sl_arena_init(&c.arena);
    int exit_code;
    if (tools_opts_has(o, "create")) {
        exit_code = topics_create(&c);
    } else if (tools_opts_has(o, "alter")) {
        exit_code = topics_alter(&c);
    } else if (tools_opts_has(o, "list")) {
        exit_code = topics_list(&c);
    } else if (tools_opts_has(o, "describe")) {
        exit_code = topics_describe(&c);
    } else {
        exit_code = topics_delete(&c);
    }
    sl_arena_deinit(&c.arena);
    tools_kc_close(c.kc);
    return exit_code;
}

const tools_command tools_cmd_topics = {
    .name = "topics",
    .summary = "create, delete, describe, or change a topic",
    .description = "This tool helps to create, delete, describe, or change a topic.",
    .opts = topics_opts,
    .opt_count = sizeof(topics_opts) / sizeof(topics_opts[0]),
    .run = topics_run,
};
