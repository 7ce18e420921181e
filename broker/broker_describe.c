/* broker_describe.c — DescribeConfigs (values with their sources, synonyms and docs),
 * DescribeCluster, DescribeLogDirs, and InitProducerId. */
#include "broker/broker_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#define RESOURCE_TOPIC  2
#define RESOURCE_BROKER 4

typedef protocol_DescribeConfigsResponse_DescribeConfigsResourceResult config_entry;

/* Kafka's ConfigEntry.ConfigType numbering. */
static int8_t config_type(sl_cfg_type t) {
    switch (t) {
    case SL_CFG_BOOL:
        return 1;
    case SL_CFG_STRING:
        return 2;
    case SL_CFG_INT:
        return 3;
    case SL_CFG_LONG:
        return 5;
    case SL_CFG_DOUBLE:
        return 6;
    case SL_CFG_LIST:
        return 7;
    }
    return 0;
}

static bool key_requested(const protocol_DescribeConfigsRequest_DescribeConfigsResource *res,
                          const char *name) {
    if (res->ConfigurationKeys.count < 0) return true;
    for (int32_t i = 0; i < res->ConfigurationKeys.count; i++) {
        if (sl_str_eq_c(res->ConfigurationKeys.items[i], name)) return true;
    }
    return false;
}

/* Synonyms of a topic key, most specific first (Kafka's DescribeConfigs v1+). */
static void topic_synonyms(broker_request *req, const metadata_topic *t, const char *key,
                           config_entry *e) {
    broker *b = req->conn->b;
    protocol_DescribeConfigsResponse_DescribeConfigsSynonym *syn =
        sl_arena_array(&req->arena, 5, sizeof(*syn));
    int32_t n = 0;
    const char *v = sl_props_get(&t->configs, key);
    if (v) syn[n++] = (protocol_DescribeConfigsResponse_DescribeConfigsSynonym){ sl_str_c(key), sl_str_c(v), METADATA_CONFIG_SOURCE_TOPIC };
    const char *bk = metadata_topic_config_synonym(key);
    if (bk) {
        char id[16];
        snprintf(id, sizeof(id), "%d", b->cfg.node_id);
        v = metadata_image_config(&b->image, RESOURCE_BROKER, id, bk);
        if (v) {
            syn[n++] = (protocol_DescribeConfigsResponse_DescribeConfigsSynonym){ sl_str_c(bk), sl_str_c(v),
                                       METADATA_CONFIG_SOURCE_DYNAMIC_BROKER };
        }
        v = metadata_image_config(&b->image, RESOURCE_BROKER, "", bk);
        if (v) {
            syn[n++] = (protocol_DescribeConfigsResponse_DescribeConfigsSynonym){ sl_str_c(bk), sl_str_c(v),
                                       METADATA_CONFIG_SOURCE_DYNAMIC_DEFAULT };
        }
        v = sl_props_get(&b->cfg.props, bk);
        if (v) {
            syn[n++] = (protocol_DescribeConfigsResponse_DescribeConfigsSynonym){ sl_str_c(bk), sl_str_c(v),
                                       METADATA_CONFIG_SOURCE_STATIC_BROKER };
        }
    }
    const sl_cfg_def *def = sl_config_find(&metadata_topic_config_table, key);
    if (def && def->default_value) {
        syn[n++] = (protocol_DescribeConfigsResponse_DescribeConfigsSynonym){ sl_str_c(bk ? bk : key), sl_str_c(def->default_value),
                                   METADATA_CONFIG_SOURCE_DEFAULT };
    }
    e->Synonyms.items = syn;
    e->Synonyms.count = n;
}

static void describe_topic(broker_request *req, const protocol_DescribeConfigsRequest *dr,
                           const protocol_DescribeConfigsRequest_DescribeConfigsResource *res,
                           protocol_DescribeConfigsResponse_DescribeConfigsResult *out) {
    broker *b = req->conn->b;
    const metadata_topic *t =
        metadata_image_topic(&b->image, res->ResourceName.ptr, (size_t)res->ResourceName.len);
    if (!t) {
        out->ErrorCode = PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        out->ErrorMessage = sl_str_c("Topic does not exist");
        return;
    }
    const sl_cfg_table *table = &metadata_topic_config_table;
    config_entry *entries = sl_arena_array(&req->arena, table->count + 1, sizeof(*entries));
    int32_t n = 0;
    for (size_t i = 0; i < table->count; i++) {
        const sl_cfg_def *def = &table->defs[i];
        if (!key_requested(res, def->name)) continue;
        config_entry *e = &entries[n++];
        protocol_DescribeConfigsResponse_DescribeConfigsResourceResult_init(e);
        int source = METADATA_CONFIG_SOURCE_DEFAULT;
        const char *v = metadata_topic_config_value(&b->image, t, def->name, b->cfg.node_id,
                                                    &b->cfg.props, &source);
        e->Name = sl_str_c(def->name);
        e->Value = v ? sl_str_c(sl_arena_strndup(&req->arena, v, strlen(v))) : SL_STR_NULL;
        e->ConfigSource = (int8_t)source;
        e->IsDefault = source == METADATA_CONFIG_SOURCE_DEFAULT;
        e->ConfigType = config_type(def->type);
        if (dr->IncludeDocumentation) e->Documentation = sl_str_c(def->doc);
        if (dr->IncludeSynonyms) topic_synonyms(req, t, def->name, e);
    }
    out->Configs.items = entries;
    out->Configs.count = n;
}

/* A broker resource: "" = cluster-wide dynamic defaults; our id = every key with its
 * effective value; another id = that broker's dynamic configs. */
static void describe_broker(broker_request *req, const protocol_DescribeConfigsRequest *dr,
                            const protocol_DescribeConfigsRequest_DescribeConfigsResource *res,
                            protocol_DescribeConfigsResponse_DescribeConfigsResult *out) {
    broker *b = req->conn->b;
    char name[32];
    int len = res->ResourceName.len > 0 && res->ResourceName.len < 31 ? res->ResourceName.len : 0;
    memcpy(name, res->ResourceName.ptr, (size_t)len);
    name[len] = '\0';
    bool self = len > 0 && atoi(name) == b->cfg.node_id;
    const sl_cfg_table *table = self ? broker_config_table() : metadata_dynamic_broker_configs();
    config_entry *entries = sl_arena_array(&req->arena, table->count + 1, sizeof(*entries));
    int32_t n = 0;
    sl_buf text;
    sl_buf_init(&text);
    for (size_t i = 0; i < table->count; i++) {
        const sl_cfg_def *def = &table->defs[i];
        if (!key_requested(res, def->name)) continue;
        const char *dyn = metadata_image_config(&b->image, RESOURCE_BROKER, name, def->name);
        const char *dflt = len ? metadata_image_config(&b->image, RESOURCE_BROKER, "", def->name)
                               : NULL;
        const char *stat = self ? sl_props_get(&b->cfg.props, def->name) : NULL;
        if (!self && !dyn && !dflt) continue;
        config_entry *e = &entries[n++];
        protocol_DescribeConfigsResponse_DescribeConfigsResourceResult_init(e);
        e->Name = sl_str_c(def->name);
        const char *v = dyn ? dyn : dflt ? dflt : stat ? stat : def->default_value;
        if (self && !dyn && !dflt && def->offset != SIZE_MAX) {
            /* the value in effect, as parsed (broker.id shows the node id, …) */
            sl_buf_reset(&text);
            sl_config_format(def, &b->cfg, &text);
            v = sl_arena_strndup(&req->arena, text.len ? (const char *)text.data : "", text.len);
        }
        e->ConfigSource = dyn ? (len ? METADATA_CONFIG_SOURCE_DYNAMIC_BROKER
                                     : METADATA_CONFIG_SOURCE_DYNAMIC_DEFAULT)
                          : dflt ? METADATA_CONFIG_SOURCE_DYNAMIC_DEFAULT
                          : stat ? METADATA_CONFIG_SOURCE_STATIC_BROKER
                                 : METADATA_CONFIG_SOURCE_DEFAULT;
        e->IsSensitive = (def->flags & SL_CFG_SECRET) != 0;
        e->Value = e->IsSensitive ? SL_STR_NULL
                                  : (v ? sl_str_c(sl_arena_strndup(&req->arena, v, strlen(v)))
                                       : SL_STR_NULL);
        e->IsDefault = e->ConfigSource == METADATA_CONFIG_SOURCE_DEFAULT;
        e->ReadOnly = self && sl_config_find(metadata_dynamic_broker_configs(), def->name) == NULL;
        e->ConfigType = config_type(def->type);
        if (dr->IncludeDocumentation) e->Documentation = sl_str_c(def->doc);
    }
    sl_buf_deinit(&text);
    out->Configs.items = entries;
    out->Configs.count = n;
}

broker_handled broker_handle_describe_configs(broker_request *req) {
    protocol_DescribeConfigsRequest *dr = broker_request_decode(req);
    if (!dr) return BROKER_CLOSE;
    protocol_DescribeConfigsResponse *resp = broker_response_new(req);
    resp->Results.count = dr->Resources.count;
    resp->Results.items = sl_arena_array(&req->arena, (size_t)dr->Resources.count + 1,
                                         sizeof(*resp->Results.items));
    for (int32_t i = 0; i < dr->Resources.count; i++) {
        const protocol_DescribeConfigsRequest_DescribeConfigsResource *res = &dr->Resources.items[i];
        protocol_DescribeConfigsResponse_DescribeConfigsResult *out = &resp->Results.items[i];
        protocol_DescribeConfigsResponse_DescribeConfigsResult_init(out);
        out->ResourceType = res->ResourceType;
        out->ResourceName = res->ResourceName;
        if (res->ResourceType == RESOURCE_TOPIC) {
            describe_topic(req, dr, res, out);
        } else if (res->ResourceType == RESOURCE_BROKER) {
            describe_broker(req, dr, res, out);
        } else {
            out->ErrorCode = PROTOCOL_ERR_INVALID_REQUEST;
            out->ErrorMessage = sl_str_c("Unsupported resource type");
        }
    }
    broker_respond(req, resp);
    return BROKER_DONE;
}

broker_handled broker_handle_describe_cluster(broker_request *req) {
    broker *b = req->conn->b;
    protocol_DescribeClusterRequest *dr = broker_request_decode(req);
    if (!dr) return BROKER_CLOSE;
    protocol_DescribeClusterResponse *resp = broker_response_new(req);
    resp->ClusterId = b->image.cluster_id ? sl_str_c(b->image.cluster_id) : sl_str_c("");
    resp->ControllerId = b->cfg.node_id;
    const char *listener = b->cfg.listen[req->conn->listener_index].name;
    int32_t ids[1024];
    int32_t n = metadata_image_live_brokers(&b->image, ids, 1024), k = 0;
    resp->Brokers.items = sl_arena_array(&req->arena, (size_t)n + 1, sizeof(*resp->Brokers.items));
    for (int32_t i = 0; i < n; i++) {
        const metadata_broker *mb = metadata_image_broker(&b->image, ids[i]);
        const metadata_endpoint *ep = metadata_broker_endpoint(mb, listener);
        if (!ep) continue;
        resp->Brokers.items[k].BrokerId = mb->id;
        resp->Brokers.items[k].Host = sl_str_c(ep->host);
        resp->Brokers.items[k].Port = ep->port;
        resp->Brokers.items[k].Rack = mb->rack ? sl_str_c(mb->rack) : SL_STR_NULL;
        k++;
    }
    resp->Brokers.count = k;
    broker_respond(req, resp);
    return BROKER_DONE;
}

static bool topic_wanted(const protocol_DescribeLogDirsRequest *dr, const broker_topic *t,
                         int32_t partition) {
    if (dr->Topics.count < 0) return true;
    for (int32_t i = 0; i < dr->Topics.count; i++) {
        const protocol_DescribeLogDirsRequest_DescribableLogDirTopic *dt = &dr->Topics.items[i];
        if (!sl_str_eq_c(dt->Topic, t->name)) continue;
        for (int32_t k = 0; k < dt->Partitions.count; k++) {
            if (dt->Partitions.items[k] == partition) return true;
        }
    }
    return false;
}

broker_handled broker_handle_describe_log_dirs(broker_request *req) {
    broker *b = req->conn->b;
    protocol_DescribeLogDirsRequest *dr = broker_request_decode(req);
    if (!dr) return BROKER_CLOSE;
    protocol_DescribeLogDirsResponse *resp = broker_response_new(req);
    protocol_DescribeLogDirsResponse_DescribeLogDirsResult *res =
        sl_arena_alloc(&req->arena, sizeof(*res));
    protocol_DescribeLogDirsResponse_DescribeLogDirsResult_init(res);
    res->LogDir = sl_str_c(b->cfg.data_dir);
    struct statvfs vfs;
    if (statvfs(b->cfg.data_dir, &vfs) == 0) {
        res->TotalBytes = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
        res->UsableBytes = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
    }
    res->Topics.items = sl_arena_array(&req->arena, b->topics.count + 1, sizeof(*res->Topics.items));
    int32_t tn = 0;
    for (size_t i = 0; i < b->topics.cap; i++) {
        if (!sl_map_slot_used(&b->topics, i)) continue;
        const broker_topic *t = b->topics.slots[i].value;
        protocol_DescribeLogDirsResponse_DescribeLogDirsTopic *rt = &res->Topics.items[tn];
        rt->Name = sl_str_c(t->name);
        rt->Partitions.items = sl_arena_array(&req->arena, (size_t)t->partition_count + 1,
                                              sizeof(*rt->Partitions.items));
        int32_t pn = 0;
        for (int32_t k = 0; k < t->partition_count; k++) {
            const broker_partition *p = t->partitions[k];
            if (!p || !p->log || !topic_wanted(dr, t, k)) continue;
            protocol_DescribeLogDirsResponse_DescribeLogDirsPartition *rp = &rt->Partitions.items[pn++];
            rp->PartitionIndex = k;
            rp->PartitionSize = storage_log_size_bytes(p->log);
            int64_t lag = p->high_watermark - storage_log_end_offset(p->log);
            rp->OffsetLag = lag > 0 ? lag : 0;
        }
        rt->Partitions.count = pn;
        if (pn > 0) tn++;
    }
    res->Topics.count = tn;
    resp->Results.items = res;
    resp->Results.count = 1;
    broker_respond(req, resp);
    return BROKER_DONE;
}

/* ---------------- producer ids ---------------- */

static void pid_answer(broker *b, broker_request *req, int16_t error) {
    protocol_InitProducerIdResponse *resp = broker_response_new(req);
    resp->ErrorCode = error;
    if (!error) {
        resp->ProducerId = b->pid_next++;
        resp->ProducerEpoch = 0;
    }
    broker_respond(req, resp);
}

static void pid_cancel(broker_request *req) {
    broker *b = req->conn->b;
    for (int32_t i = 0; i < b->pid_waiting_count; i++) {
        if (b->pid_waiting[i] == req) {
            b->pid_waiting[i] = b->pid_waiting[--b->pid_waiting_count];
            return;
        }
    }
}

static void pid_block_done(broker *b, int16_t error, const ProtobufCMessage *msg, void *arg) {
    (void)arg;
    b->pid_requested = false;
    if (!error && msg) {
        const Md__AllocateProducerIdsResponse *resp = (const Md__AllocateProducerIdsResponse *)msg;
        b->pid_next = resp->first_producer_id;
        b->pid_end = resp->first_producer_id + resp->count;
        SL_LOG(SL_INFO, "admin", "producer_ids_allocated", "first=%" PRId64 " count=%d",
               resp->first_producer_id, resp->count);
    }
    while (b->pid_waiting_count > 0) {
        broker_request *req = b->pid_waiting[--b->pid_waiting_count];
        bool have = b->pid_next < b->pid_end;
        /* a retriable error: the client asks again */
        pid_answer(b, req, have ? PROTOCOL_ERR_NONE : PROTOCOL_ERR_COORDINATOR_LOAD_IN_PROGRESS);
        req->op = NULL;
        req->cancel = NULL;
        broker_request_finish(req);
    }
}

broker_handled broker_handle_init_producer_id(broker_request *req) {
    broker *b = req->conn->b;
    protocol_InitProducerIdRequest *ir = broker_request_decode(req);
    if (!ir) return BROKER_CLOSE;
    if (ir->TransactionalId.len >= 0) {
        /* transactional producers need a transaction coordinator, which is not here */
        pid_answer(b, req, PROTOCOL_ERR_NOT_COORDINATOR);
        return BROKER_DONE;
    }
    if (b->pid_next < b->pid_end) {
        pid_answer(b, req, PROTOCOL_ERR_NONE);
        return BROKER_DONE;
    }
    if (b->pid_waiting_count >= PID_PENDING_MAX_REQUESTS) {
        pid_answer(b, req, PROTOCOL_ERR_COORDINATOR_LOAD_IN_PROGRESS);
        return BROKER_DONE;
    }
    if (!b->pid_waiting) {
        b->pid_waiting = sl_calloc(PID_PENDING_MAX_REQUESTS, sizeof(broker_request *));
    }
    b->pid_waiting[b->pid_waiting_count++] = req;
    req->op = req;
    req->cancel = pid_cancel;
    if (!b->pid_requested) {
        b->pid_requested = true;
        Md__AllocateProducerIdsRequest ar = MD__ALLOCATE_PRODUCER_IDS_REQUEST__INIT;
        ar.broker_id = b->cfg.node_id;
        ar.broker_epoch = b->broker_epoch;
        broker_ctl_call(b, METADATA_RPC_ALLOCATE_PRODUCER_IDS, &ar.base,
                        &md__allocate_producer_ids_response__descriptor, 5000, pid_block_done,
                        NULL);
    }
    return BROKER_PENDING;
}
