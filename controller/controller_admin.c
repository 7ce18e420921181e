/* controller_admin.c — Kafka admin requests forwarded by brokers: decoded with the
 * protocol codecs in the client's version, decided against the working image, answered
 * in that same version once their records commit. Topic creation, deletion and partition
 * increases are here; configs, elections, reassignments and DescribeQuorum are in
 * controller_admin_ops.c. Error codes and messages follow Kafka's. */
#include "controller/controller_admin.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_CREATE_TOPICS    19
#define API_DELETE_TOPICS    20
#define API_ALTER_CONFIGS    33
#define API_CREATE_PARTITIONS 37
#define API_ELECT_LEADERS    43
#define API_INCREMENTAL_ALTER_CONFIGS 44
#define API_ALTER_REASSIGNMENTS 45
#define API_LIST_REASSIGNMENTS  46
#define API_DESCRIBE_QUORUM  55
#define PARTITIONS_MAX       100000 /* per topic: bounds placement work and record size */

sl_str admin_str(admin_ctx *a, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof(buf)) n = sizeof(buf) - 1;
    return (sl_str){ sl_arena_strndup(&a->arena, buf, (size_t)n), n };
}

char *admin_cstr(admin_ctx *a, sl_str s) {
    return sl_arena_strndup(&a->arena, s.len > 0 ? s.ptr : "", s.len > 0 ? (size_t)s.len : 0);
}

/* ---------------- completion ---------------- */

static void admin_free(admin_ctx *a) {
    sl_arena_deinit(&a->arena);
    sl_free(a->body);
    sl_free(a);
}

static void admin_finish(controller *c, void *arg, bool committed) {
    admin_ctx *a = arg;
    if (!committed) {
        a->reply(c, a->reply_arg, PROTOCOL_ERR_NOT_CONTROLLER, NULL, 0, -1);
        admin_free(a);
        return;
    }
    sl_buf out;
    sl_buf_init(&out);
    a->api->response_encode(&out, a->version, a->resp);
    a->reply(c, a->reply_arg, PROTOCOL_ERR_NONE, out.data, out.len, a->offset);
    sl_buf_deinit(&out);
    admin_free(a);
}

/* ---------------- CreateTopics ---------------- */

static int16_t check_configs(admin_ctx *a,
                             const protocol_CreateTopicsRequest_CreatableTopic *ct,
                             sl_str *message) {
    for (int32_t i = 0; i < ct->Configs.count; i++) {
        const protocol_CreateTopicsRequest_CreatableTopicConfig *cfg = &ct->Configs.items[i];
        char *name = admin_cstr(a, cfg->Name);
        const sl_cfg_def *def = sl_config_find(&metadata_topic_config_table, name);
        if (!def) {
            *message = admin_str(a, "Unknown topic config name: %s", name);
            return PROTOCOL_ERR_INVALID_CONFIG;
        }
        if (cfg->Value.len < 0) {
            *message = admin_str(a, "Null value not supported for topic configs: %s", name);
            return PROTOCOL_ERR_INVALID_REQUEST;
        }
        char why[256];
        char *value = admin_cstr(a, cfg->Value);
        if (sl_config_check(def, value, why, sizeof(why)) < 0) {
            *message = admin_str(a, "Invalid value %s for configuration %s: %s", value, name, why);
            return PROTOCOL_ERR_INVALID_CONFIG;
        }
    }
    return PROTOCOL_ERR_NONE;
}

/* Validate a topic's name against the image and the request. */
static int16_t check_name(admin_ctx *a, const protocol_CreateTopicsRequest *req, int32_t index,
                          sl_str *message) {
    controller *c = a->c;
    sl_str name = req->Topics.items[index].Name;
    char err[512];
    char *cname = admin_cstr(a, name);
    if (name.len < 0 ||
        (metadata_topic_name_check(name.ptr, (size_t)name.len, err, sizeof(err)) < 0)) {
        *message = admin_str(a, "%s", name.len < 0 ? "Topic name is null" : err);
        return PROTOCOL_ERR_INVALID_TOPIC_EXCEPTION;
    }
    for (int32_t k = 0; k < req->Topics.count; k++) {
        if (k != index && sl_str_eq(req->Topics.items[k].Name, name)) {
            *message = admin_str(a, "Create topics request from client contains duplicate "
                                    "topic name: %s", cname);
            return PROTOCOL_ERR_INVALID_REQUEST;
        }
    }
    if (metadata_image_topic(&c->work, name.ptr, (size_t)name.len)) {
        *message = admin_str(a, "Topic '%s' already exists.", cname);
        return PROTOCOL_ERR_TOPIC_ALREADY_EXISTS;
    }
    for (size_t i = 0; i < c->work.topics.cap; i++) {
        if (!sl_map_slot_used(&c->work.topics, i)) continue;
        const metadata_topic *t = c->work.topics.slots[i].value;
        if (metadata_topic_names_collide(cname, t->name)) {
            *message = admin_str(a, "Topic '%s' collides with existing topic: %s", cname, t->name);
            return PROTOCOL_ERR_INVALID_TOPIC_EXCEPTION;
        }
    }
    return PROTOCOL_ERR_NONE;
}

/* Replicas from a manual assignment; returns the partition count or an error. */
static int16_t manual_assignment(admin_ctx *a, const protocol_CreateTopicsRequest_CreatableTopic *ct,
                                 int32_t **replicas_out, int16_t *rf_out, sl_str *message) {
    int32_t n = ct->Assignments.count;
    if (ct->NumPartitions != -1 || ct->ReplicationFactor != -1) {
        *message = admin_str(a, "Both numPartitions or replicationFactor and replicasAssignments "
                                "were set. Both cannot be used at the same time.");
        return PROTOCOL_ERR_INVALID_REQUEST;
    }
    int16_t rf = (int16_t)ct->Assignments.items[0].BrokerIds.count;
    int32_t *out = sl_arena_array(&a->arena, (size_t)n * (size_t)(rf > 0 ? rf : 1), sizeof(int32_t));
    for (int32_t i = 0; i < n; i++) {
        const protocol_CreateTopicsRequest_CreatableReplicaAssignment *as = &ct->Assignments.items[i];
        if (as->PartitionIndex != i || as->BrokerIds.count != rf || rf <= 0) {
            *message = admin_str(a, "Partitions must be numbered 0 to %d with %d replicas each",
                                 n - 1, rf);
            return PROTOCOL_ERR_INVALID_REPLICA_ASSIGNMENT;
        }
        for (int32_t k = 0; k < rf; k++) {
            int32_t id = as->BrokerIds.items[k];
            if (!metadata_image_broker(&a->c->work, id)) {
                *message = admin_str(a, "Broker %d in the assignment is not registered", id);
                return PROTOCOL_ERR_INVALID_REPLICA_ASSIGNMENT;
            }
            for (int32_t j = 0; j < k; j++) {
                if (as->BrokerIds.items[j] == id) {
                    *message = admin_str(a, "Duplicate broker %d in partition %d", id, i);
                    return PROTOCOL_ERR_INVALID_REPLICA_ASSIGNMENT;
                }
            }
            out[i * rf + k] = id;
        }
    }
    *replicas_out = out;
    *rf_out = rf;
    return PROTOCOL_ERR_NONE;
}

/* Partitions [first, first + count) of a topic, replicas rf each, as records. */
void admin_add_partitions(controller *c, metadata_batch_builder *bb, const metadata_uuid *id,
                          int32_t first, int32_t count, int16_t rf, const int32_t *replicas) {
    for (int32_t i = 0; i < count; i++) {
        const int32_t *r = &replicas[(size_t)i * (size_t)rf];
        metadata_partition p = { .id = first + i, .leader = -1 };
        p.replicas = (metadata_ids){ (int32_t *)r, rf };
        p.isr = (metadata_ids){ (int32_t *)r, rf };
        for (int16_t k = 0; k < rf && p.leader < 0; k++) {
            if (metadata_broker_is_live(metadata_image_broker(&c->work, r[k]))) p.leader = r[k];
        }
        metadata_batch_add_partition(bb, id, &p);
    }
}

/* Fill the v5+ result configs with effective values. */
static void result_configs(admin_ctx *a, const protocol_CreateTopicsRequest_CreatableTopic *ct,
                           protocol_CreateTopicsResponse_CreatableTopicResult *tr) {
    const sl_cfg_table *table = &metadata_topic_config_table;
    tr->Configs.items = sl_arena_array(&a->arena, table->count, sizeof(*tr->Configs.items));
    tr->Configs.count = (int32_t)table->count;
    for (size_t i = 0; i < table->count; i++) {
        const sl_cfg_def *def = &table->defs[i];
        protocol_CreateTopicsResponse_CreatableTopicConfigs *out = &tr->Configs.items[i];
        out->Name = sl_str_c(def->name);
        out->ConfigSource = METADATA_CONFIG_SOURCE_DEFAULT;
        const char *v = metadata_topic_config_value(&a->c->work, NULL, def->name, -1,
                                                    &a->c->cfg.props, NULL);
        out->Value = v ? sl_str_c(admin_cstr(a, sl_str_c(v))) : SL_STR_NULL;
        for (int32_t k = 0; k < ct->Configs.count; k++) {
            if (sl_str_eq_c(ct->Configs.items[k].Name, def->name)) {
                out->Value = ct->Configs.items[k].Value;
                out->ConfigSource = METADATA_CONFIG_SOURCE_TOPIC;
            }
        }
    }
}

static void create_topic(admin_ctx *a, const protocol_CreateTopicsRequest *req, int32_t index,
                         metadata_batch_builder *bb,
                         protocol_CreateTopicsResponse_CreatableTopicResult *tr) {
    controller *c = a->c;
    const protocol_CreateTopicsRequest_CreatableTopic *ct = &req->Topics.items[index];
    protocol_CreateTopicsResponse_CreatableTopicResult_init(tr);
    tr->Name = ct->Name;
    tr->ErrorCode = check_name(a, req, index, &tr->ErrorMessage);
    if (!tr->ErrorCode) tr->ErrorCode = check_configs(a, ct, &tr->ErrorMessage);
    if (tr->ErrorCode) return;
    int32_t partitions = ct->NumPartitions == -1 ? c->cfg.num_partitions : ct->NumPartitions;
    int16_t rf = ct->ReplicationFactor == -1 ? (int16_t)c->cfg.default_replication_factor
                                             : ct->ReplicationFactor;
    int32_t *replicas = NULL;
    if (ct->Assignments.count > 0) {
        tr->ErrorCode = manual_assignment(a, ct, &replicas, &rf, &tr->ErrorMessage);
        if (tr->ErrorCode) return;
        partitions = ct->Assignments.count;
    } else {
        if (partitions <= 0 || partitions > PARTITIONS_MAX) {
            tr->ErrorCode = PROTOCOL_ERR_INVALID_PARTITIONS;
            tr->ErrorMessage = admin_str(a, partitions <= 0 ? "Number of partitions was set to an "
                                         "invalid non-positive value." : "Number of partitions "
                                         "exceeds %d.", PARTITIONS_MAX);
            return;
        }
        if (rf <= 0) {
            tr->ErrorCode = PROTOCOL_ERR_INVALID_REPLICATION_FACTOR;
            tr->ErrorMessage = admin_str(a, "Replication factor must be larger than 0, or -1 to "
                                            "use the default value.");
            return;
        }
        int32_t live[1024];
        int32_t n = metadata_image_live_brokers(&c->work, live, 1024);
        replicas = sl_arena_array(&a->arena, (size_t)partitions * (size_t)rf, sizeof(int32_t));
        if (controller_place(live, n, controller_place_start(&c->work, n), 0, partitions, rf,
                             replicas)) {
            tr->ErrorCode = PROTOCOL_ERR_INVALID_REPLICATION_FACTOR;
            tr->ErrorMessage = admin_str(a, "Unable to replicate the partition %d time(s): The "
                                            "target replication factor of %d cannot be reached "
                                            "because only %d broker(s) are registered.",
                                         rf, rf, n);
            return;
        }
    }
    tr->NumPartitions = partitions;
    tr->ReplicationFactor = rf;
    if (a->version >= 5) result_configs(a, ct, tr);
    if (req->validateOnly) return;
    metadata_uuid id;
    metadata_uuid_random(&id);
    memcpy(tr->TopicId.b, id.b, 16);
    char *name = admin_cstr(a, ct->Name);
    metadata_batch_add_topic(bb, name, &id);
    admin_add_partitions(c, bb, &id, 0, partitions, rf, replicas);
    for (int32_t i = 0; i < ct->Configs.count; i++) {
        metadata_batch_add_config(bb, METADATA_RESOURCE_TOPIC, name,
                                  admin_cstr(a, ct->Configs.items[i].Name),
                                  admin_cstr(a, ct->Configs.items[i].Value));
    }
    SL_LOG(SL_INFO, "controller", "topic_created", "topic=%s partitions=%d rf=%d", name,
           partitions, rf);
}

static void handle_create_topics(admin_ctx *a, metadata_batch_builder *bb) {
    const protocol_CreateTopicsRequest *req = a->req;
    protocol_CreateTopicsResponse *resp = a->resp;
    resp->Topics.count = req->Topics.count;
    resp->Topics.items = sl_arena_array(&a->arena, (size_t)req->Topics.count + 1,
                                        sizeof(*resp->Topics.items));
    for (int32_t i = 0; i < req->Topics.count; i++) {
        create_topic(a, req, i, bb, &resp->Topics.items[i]);
    }
}

/* ---------------- DeleteTopics ---------------- */

static void delete_one(admin_ctx *a, const metadata_topic *t, metadata_batch_builder *bb,
                       protocol_DeleteTopicsResponse_DeletableTopicResult *out) {
    controller *c = a->c;
    if (!c->cfg.delete_topic_enable) {
        out->ErrorCode = PROTOCOL_ERR_TOPIC_DELETION_DISABLED;
        return;
    }
    memcpy(out->TopicId.b, t->id.b, 16);
    out->Name = sl_str_c(admin_cstr(a, sl_str_c(t->name)));
    if (metadata_topic_is_internal(t->name, strlen(t->name))) {
        out->ErrorCode = PROTOCOL_ERR_INVALID_REQUEST;
        out->ErrorMessage = admin_str(a, "Deletion of internal topic %s is not allowed", t->name);
        return;
    }
    SL_LOG(SL_INFO, "controller", "topic_deleted", "topic=%s", t->name);
    metadata_batch_add_remove_topic(bb, &t->id);
}

static void handle_delete_topics(admin_ctx *a, metadata_batch_builder *bb) {
    const protocol_DeleteTopicsRequest *req = a->req;
    protocol_DeleteTopicsResponse *resp = a->resp;
    bool by_state = a->version >= 6;
    int32_t n = by_state ? req->Topics.count : req->TopicNames.count;
    resp->Responses.count = n;
    resp->Responses.items = sl_arena_array(&a->arena, (size_t)n + 1, sizeof(*resp->Responses.items));
    for (int32_t i = 0; i < n; i++) {
        protocol_DeleteTopicsResponse_DeletableTopicResult *out = &resp->Responses.items[i];
        protocol_DeleteTopicsResponse_DeletableTopicResult_init(out);
        const metadata_topic *t = NULL;
        sl_str name = by_state ? req->Topics.items[i].Name : req->TopicNames.items[i];
        out->Name = name;
        if (name.len >= 0) {
            t = metadata_image_topic(&a->c->work, name.ptr, (size_t)name.len);
        } else if (by_state) {
            metadata_uuid id;
            memcpy(id.b, req->Topics.items[i].TopicId.b, 16);
            memcpy(out->TopicId.b, id.b, 16);
            t = metadata_image_topic_by_id(&a->c->work, &id);
            if (!t) {
                out->ErrorCode = PROTOCOL_ERR_UNKNOWN_TOPIC_ID;
                continue;
            }
        }
        if (!t) {
            out->ErrorCode = PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            out->ErrorMessage = admin_str(a, "This server does not host this topic-partition.");
            continue;
        }
        delete_one(a, t, bb, out);
    }
}

/* ---------------- CreatePartitions ---------------- */

static void add_partitions(admin_ctx *a, const protocol_CreatePartitionsRequest *req,
                           const protocol_CreatePartitionsRequest_CreatePartitionsTopic *pt,
                           metadata_batch_builder *bb,
                           protocol_CreatePartitionsResponse_CreatePartitionsTopicResult *out) {
    controller *c = a->c;
    out->Name = pt->Name;
    const metadata_topic *t = metadata_image_topic(&c->work, pt->Name.ptr, (size_t)pt->Name.len);
    if (!t) {
        out->ErrorCode = PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        out->ErrorMessage = admin_str(a, "The topic '%s' does not exist.", admin_cstr(a, pt->Name));
        return;
    }
    if (pt->Count < t->partition_count) {
        out->ErrorCode = PROTOCOL_ERR_INVALID_PARTITIONS;
        out->ErrorMessage = admin_str(a, "Topic currently has %d partitions, which is higher than "
                                         "the requested %d.", t->partition_count, pt->Count);
        return;
    }
    if (pt->Count == t->partition_count) {
        out->ErrorCode = PROTOCOL_ERR_INVALID_PARTITIONS;
        out->ErrorMessage = admin_str(a, "Topic already has %d partitions.", t->partition_count);
        return;
    }
    if (pt->Count > PARTITIONS_MAX) {
        out->ErrorCode = PROTOCOL_ERR_INVALID_PARTITIONS;
        out->ErrorMessage = admin_str(a, "Number of partitions exceeds %d.", PARTITIONS_MAX);
        return;
    }
    int32_t add = pt->Count - t->partition_count;
    int16_t rf = (int16_t)t->partitions[0].replicas.count;
    int32_t *replicas = sl_arena_array(&a->arena, (size_t)add * (size_t)rf, sizeof(int32_t));
    if (pt->Assignments.count > 0) {
        if (pt->Assignments.count != add) {
            out->ErrorCode = PROTOCOL_ERR_INVALID_REPLICA_ASSIGNMENT;
            out->ErrorMessage = admin_str(a, "Increasing the number of partitions by %d but %d "
                                             "assignments provided.", add, pt->Assignments.count);
            return;
        }
        for (int32_t i = 0; i < add; i++) {
            const protocol_CreatePartitionsRequest_CreatePartitionsAssignment *as =
                &pt->Assignments.items[i];
            if (as->BrokerIds.count != rf) {
                out->ErrorCode = PROTOCOL_ERR_INVALID_REPLICA_ASSIGNMENT;
                out->ErrorMessage = admin_str(a, "Inconsistent replication factor between "
                                                 "partitions, partition 0 has %d", rf);
                return;
            }
            for (int16_t k = 0; k < rf; k++) {
                if (!metadata_image_broker(&c->work, as->BrokerIds.items[k])) {
                    out->ErrorCode = PROTOCOL_ERR_INVALID_REPLICA_ASSIGNMENT;
                    out->ErrorMessage = admin_str(a, "Unknown broker %d", as->BrokerIds.items[k]);
                    return;
                }
                replicas[i * rf + k] = as->BrokerIds.items[k];
            }
        }
    } else {
        int32_t live[1024];
        int32_t n = metadata_image_live_brokers(&c->work, live, 1024);
        if (controller_place(live, n, controller_place_start(&c->work, n), t->partition_count,
                             add, rf, replicas)) {
            out->ErrorCode = PROTOCOL_ERR_INVALID_REPLICATION_FACTOR;
            out->ErrorMessage = admin_str(a, "Unable to replicate the partition %d time(s): only "
                                             "%d broker(s) are live.", rf, n);
            return;
        }
    }
    if (req->ValidateOnly) return;
    SL_LOG(SL_INFO, "controller", "partitions_created", "topic=%s from=%d to=%d", t->name,
           t->partition_count, pt->Count);
    admin_add_partitions(c, bb, &t->id, t->partition_count, add, rf, replicas);
}

static void handle_create_partitions(admin_ctx *a, metadata_batch_builder *bb) {
    const protocol_CreatePartitionsRequest *req = a->req;
    protocol_CreatePartitionsResponse *resp = a->resp;
    resp->Results.count = req->Topics.count;
    resp->Results.items = sl_arena_array(&a->arena, (size_t)req->Topics.count + 1,
                                         sizeof(*resp->Results.items));
    for (int32_t i = 0; i < req->Topics.count; i++) {
        protocol_CreatePartitionsResponse_CreatePartitionsTopicResult_init(&resp->Results.items[i]);
        add_partitions(a, req, &req->Topics.items[i], bb, &resp->Results.items[i]);
    }
}

/* ---------------- dispatch ---------------- */

void controller_admin_handle(controller *c, int16_t api_key, int16_t api_version,
                             const uint8_t *body, size_t len, controller_admin_reply_fn reply,
                             void *arg) {
    const protocol_api *api = protocol_api_find(api_key);
    if (!api || api_version < api->min_version || api_version > api->max_version) {
        reply(c, arg, PROTOCOL_ERR_UNSUPPORTED_VERSION, NULL, 0, -1);
        return;
    }
    admin_ctx *a = SL_NEW(admin_ctx);
    a->c = c;
    a->api = api;
    a->version = api_version;
    a->reply = reply;
    a->reply_arg = arg;
    a->offset = -1;
    sl_arena_init(&a->arena);
    a->body = sl_malloc(len + 1);
    memcpy(a->body, body, len);
    a->req = sl_arena_alloc(&a->arena, api->request_size);
    api->request_init(a->req);
    sl_reader r;
    sl_reader_init(&r, a->body, len);
    if (api->request_decode(&r, api_version, &a->arena, a->req) < 0) {
        SL_LOG(SL_WARN, "controller", "malformed_admin_request", "api=%s version=%d", api->name,
               api_version);
        reply(c, arg, PROTOCOL_ERR_INVALID_REQUEST, NULL, 0, -1);
        admin_free(a);
        return;
    }
    a->resp = sl_arena_alloc(&a->arena, api->response_size);
    api->response_init(a->resp);
    metadata_batch_builder bb;
    metadata_batch_builder_init(&bb);
    switch (api_key) {
    case API_CREATE_TOPICS:
        handle_create_topics(a, &bb);
        break;
    case API_DELETE_TOPICS:
        handle_delete_topics(a, &bb);
        break;
    case API_CREATE_PARTITIONS:
        handle_create_partitions(a, &bb);
        break;
    case API_ALTER_CONFIGS:
        controller_admin_alter_configs(a, &bb);
        break;
    case API_INCREMENTAL_ALTER_CONFIGS:
        controller_admin_incremental_alter_configs(a, &bb);
        break;
    case API_ELECT_LEADERS:
        controller_admin_elect_leaders(a, &bb);
        break;
    case API_ALTER_REASSIGNMENTS:
        controller_admin_alter_reassignments(a, &bb);
        break;
    case API_LIST_REASSIGNMENTS:
        controller_admin_list_reassignments(a);
        break;
    case API_DESCRIBE_QUORUM:
        controller_admin_describe_quorum(a);
        break;
    default:
        reply(c, arg, PROTOCOL_ERR_UNSUPPORTED_VERSION, NULL, 0, -1);
        metadata_batch_builder_deinit(&bb);
        admin_free(a);
        return;
    }
    if (controller_propose(c, &bb, admin_finish, a, &a->offset) < 0) {
        reply(c, arg, PROTOCOL_ERR_NOT_CONTROLLER, NULL, 0, -1);
        admin_free(a);
    }
    metadata_batch_builder_deinit(&bb);
}
