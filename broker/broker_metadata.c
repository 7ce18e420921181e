/* broker_metadata.c — the Metadata API (topics, partitions, leaders, brokers), answered
 * from this broker's metadata image, with auto topic creation. */
#include "broker/broker_int.h"
#include "common/sl_log.h"

#include <string.h>

/* Brokers clients may contact: unfenced brokers with an endpoint on the listener the
 * request arrived on. */
static void fill_brokers(broker_request *req, protocol_MetadataResponse *resp) {
    broker *b = req->conn->b;
    const char *listener = b->cfg.listen[req->conn->listener_index].name;
    int32_t ids[1024];
    int32_t n = metadata_image_live_brokers(&b->image, ids, 1024);
    protocol_MetadataResponse_MetadataResponseBroker *items =
        sl_arena_array(&req->arena, (size_t)n + 1, sizeof(*items));
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        const metadata_broker *mb = metadata_image_broker(&b->image, ids[i]);
        const metadata_endpoint *ep = metadata_broker_endpoint(mb, listener);
        if (!ep) continue;
        items[k].NodeId = mb->id;
        items[k].Host = sl_str_c(ep->host);
        items[k].Port = ep->port;
        items[k].Rack = mb->rack ? sl_str_c(mb->rack) : SL_STR_NULL;
        k++;
    }
    resp->Brokers.items = items;
    resp->Brokers.count = k;
}

static int32_t *ids_copy(broker_request *req, const metadata_ids *ids, int32_t *count_out) {
    int32_t *out = sl_arena_array(&req->arena, (size_t)ids->count + 1, sizeof(int32_t));
    memcpy(out, ids->ids, (size_t)ids->count * sizeof(int32_t));
    *count_out = ids->count;
    return out;
}

static void fill_partitions(broker_request *req, const metadata_topic *t,
                            protocol_MetadataResponse_MetadataResponseTopic *rt) {
    broker *b = req->conn->b;
    protocol_MetadataResponse_MetadataResponsePartition *parts =
        sl_arena_array(&req->arena, (size_t)t->partition_count + 1, sizeof(*parts));
    for (int32_t i = 0; i < t->partition_count; i++) {
        const metadata_partition *p = &t->partitions[i];
        protocol_MetadataResponse_MetadataResponsePartition *rp = &parts[i];
        protocol_MetadataResponse_MetadataResponsePartition_init(rp);
        rp->PartitionIndex = p->id;
        rp->LeaderId = p->leader;
        rp->LeaderEpoch = p->leader_epoch;
        rp->ErrorCode = p->leader < 0 ? PROTOCOL_ERR_LEADER_NOT_AVAILABLE : PROTOCOL_ERR_NONE;
        rp->ReplicaNodes.items = ids_copy(req, &p->replicas, &rp->ReplicaNodes.count);
        rp->IsrNodes.items = ids_copy(req, &p->isr, &rp->IsrNodes.count);
        int32_t *offline = sl_arena_array(&req->arena, (size_t)p->replicas.count + 1,
                                          sizeof(int32_t));
        int32_t n = 0;
        for (int32_t r = 0; r < p->replicas.count; r++) {
            if (!metadata_broker_is_live(metadata_image_broker(&b->image, p->replicas.ids[r]))) {
                offline[n++] = p->replicas.ids[r];
            }
        }
        rp->OfflineReplicas.items = offline;
        rp->OfflineReplicas.count = n;
    }
    rt->Partitions.items = parts;
    rt->Partitions.count = t->partition_count;
}

static void fill_topic(broker_request *req, const metadata_topic *t,
                       protocol_MetadataResponse_MetadataResponseTopic *rt) {
    protocol_MetadataResponse_MetadataResponseTopic_init(rt);
    rt->Name = sl_str_c(t->name);
    memcpy(rt->TopicId.b, t->id.b, 16);
    rt->IsInternal = metadata_topic_is_internal(t->name, strlen(t->name));
    fill_partitions(req, t, rt);
}

/* A requested topic that does not exist: create it if allowed, else report it. */
static void missing_topic(broker_request *req, sl_str name, bool allow_auto,
                          protocol_MetadataResponse_MetadataResponseTopic *rt) {
    broker *b = req->conn->b;
    protocol_MetadataResponse_MetadataResponseTopic_init(rt);
    rt->Name = name;
    char err[512];
    if (name.len < 0 || metadata_topic_name_check(name.ptr, (size_t)name.len, err,
                                                  sizeof(err)) < 0) {
        rt->ErrorCode = PROTOCOL_ERR_INVALID_TOPIC_EXCEPTION;
        return;
    }
    if (!allow_auto || !b->cfg.auto_create_topics ||
        metadata_topic_is_internal(name.ptr, (size_t)name.len)) {
        rt->ErrorCode = PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    broker_auto_create_topic(b, name.ptr, (size_t)name.len, b->cfg.num_partitions,
                             (int16_t)b->cfg.default_replication_factor, NULL);
    rt->ErrorCode = PROTOCOL_ERR_LEADER_NOT_AVAILABLE; /* Kafka's answer while it is created */
}

static void fill_all_topics(broker_request *req, protocol_MetadataResponse *resp) {
    broker *b = req->conn->b;
    int32_t n;
    metadata_topic **topics = metadata_image_sorted_topics(&b->image, &n);
    protocol_MetadataResponse_MetadataResponseTopic *items =
        sl_arena_array(&req->arena, (size_t)n + 1, sizeof(*items));
    for (int32_t i = 0; i < n; i++) fill_topic(req, topics[i], &items[i]);
    sl_free(topics);
    resp->Topics.items = items;
    resp->Topics.count = n;
}

broker_handled broker_handle_metadata(broker_request *req) {
    broker *b = req->conn->b;
    protocol_MetadataRequest *mr = broker_request_decode(req);
    if (!mr) return BROKER_CLOSE;
    protocol_MetadataResponse *resp = broker_response_new(req);
    fill_brokers(req, resp);
    resp->ClusterId = b->image.cluster_id ? sl_str_c(b->image.cluster_id) : SL_STR_NULL;
    /* Clients send admin requests to the "controller"; we forward them, so name
     * ourselves (a live broker they can reach) — API-PLAN §6. */
    resp->ControllerId = b->cfg.node_id;
    int16_t v = req->hdr.api_version;
    bool all = mr->Topics.count < 0 || (v == 0 && mr->Topics.count == 0);
    bool allow_auto = v < 4 || mr->AllowAutoTopicCreation;
    if (all) {
        fill_all_topics(req, resp);
        broker_respond(req, resp);
        return BROKER_DONE;
    }
    int32_t n = mr->Topics.count;
    protocol_MetadataResponse_MetadataResponseTopic *items =
        sl_arena_array(&req->arena, (size_t)n + 1, sizeof(*items));
    for (int32_t i = 0; i < n; i++) {
        const protocol_MetadataRequest_MetadataRequestTopic *rt = &mr->Topics.items[i];
        const metadata_topic *t = NULL;
        if (rt->Name.len >= 0) {
            t = metadata_image_topic(&b->image, rt->Name.ptr, (size_t)rt->Name.len);
        } else {
            metadata_uuid id;
            memcpy(id.b, rt->TopicId.b, 16);
            t = metadata_image_topic_by_id(&b->image, &id);
            if (!t) {
                protocol_MetadataResponse_MetadataResponseTopic_init(&items[i]);
                memcpy(items[i].TopicId.b, rt->TopicId.b, 16);
                items[i].ErrorCode = PROTOCOL_ERR_UNKNOWN_TOPIC_ID;
                continue;
            }
        }
        if (t) {
            fill_topic(req, t, &items[i]);
        } else {
            missing_topic(req, rt->Name, allow_auto, &items[i]);
        }
    }
    resp->Topics.items = items;
    resp->Topics.count = n;
    broker_respond(req, resp);
    return BROKER_DONE;
}
