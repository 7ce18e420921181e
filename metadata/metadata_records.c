/* metadata_records.c — packing records into a log entry (md.MetadataBatch).
 * A MetadataBatch is `repeated MetadataRecord records = 1`, so its wire form is the
 * concatenation of (key 0x0a, varint length, packed record) for each record. */
#include "metadata/metadata_int.h"
#include "common/sl_alloc.h"

#include <limits.h>
#include <string.h>

#define BATCH_RECORDS_KEY 0x0a /* field 1, wire type 2 (length-delimited) */

void metadata_batch_builder_init(metadata_batch_builder *bb) {
    sl_buf_init(&bb->buf);
    bb->count = 0;
}

void metadata_batch_builder_deinit(metadata_batch_builder *bb) {
    sl_buf_deinit(&bb->buf);
    bb->count = 0;
}

void metadata_batch_add_record(metadata_batch_builder *bb, const Md__MetadataRecord *rec) {
    size_t size = md__metadata_record__get_packed_size(rec);
    sl_buf_put_u8(&bb->buf, BATCH_RECORDS_KEY);
    sl_buf_put_uvarlong(&bb->buf, size);
    md__metadata_record__pack(rec, sl_buf_reserve(&bb->buf, size));
    bb->count++;
}

static ProtobufCBinaryData uuid_bytes(const metadata_uuid *id) {
    return (ProtobufCBinaryData){ sizeof(id->b), (uint8_t *)id->b };
}

void metadata_batch_add_cluster_id(metadata_batch_builder *bb, const char *cluster_id) {
    Md__ClusterIdRecord r = MD__CLUSTER_ID_RECORD__INIT;
    r.cluster_id = (char *)cluster_id;
    Md__MetadataRecord rec = MD__METADATA_RECORD__INIT;
    rec.record_case = MD__METADATA_RECORD__RECORD_CLUSTER_ID;
    rec.cluster_id = &r;
    metadata_batch_add_record(bb, &rec);
}

void metadata_batch_add_topic(metadata_batch_builder *bb, const char *name,
                              const metadata_uuid *id) {
    Md__TopicRecord r = MD__TOPIC_RECORD__INIT;
    r.name = (char *)name;
    r.topic_id = uuid_bytes(id);
    Md__MetadataRecord rec = MD__METADATA_RECORD__INIT;
    rec.record_case = MD__METADATA_RECORD__RECORD_TOPIC;
    rec.topic = &r;
    metadata_batch_add_record(bb, &rec);
}

void metadata_batch_add_partition(metadata_batch_builder *bb, const metadata_uuid *topic_id,
                                  const metadata_partition *p) {
    Md__PartitionRecord r = MD__PARTITION_RECORD__INIT;
    r.topic_id = uuid_bytes(topic_id);
    r.partition_id = p->id;
    r.n_replicas = (size_t)p->replicas.count;
    r.replicas = p->replicas.ids;
    r.n_isr = (size_t)p->isr.count;
    r.isr = p->isr.ids;
    r.n_adding_replicas = (size_t)p->adding.count;
    r.adding_replicas = p->adding.ids;
    r.n_removing_replicas = (size_t)p->removing.count;
    r.removing_replicas = p->removing.ids;
    r.n_elr = (size_t)p->elr.count;
    r.elr = p->elr.ids;
    r.leader = p->leader;
    r.leader_epoch = p->leader_epoch;
    r.partition_epoch = p->partition_epoch;
    r.has_leader_recovering = p->leader_recovering;
    r.leader_recovering = p->leader_recovering;
    Md__MetadataRecord rec = MD__METADATA_RECORD__INIT;
    rec.record_case = MD__METADATA_RECORD__RECORD_PARTITION;
    rec.partition = &r;
    metadata_batch_add_record(bb, &rec);
}

void metadata_batch_add_remove_topic(metadata_batch_builder *bb, const metadata_uuid *topic_id) {
    Md__RemoveTopicRecord r = MD__REMOVE_TOPIC_RECORD__INIT;
    r.topic_id = uuid_bytes(topic_id);
    Md__MetadataRecord rec = MD__METADATA_RECORD__INIT;
    rec.record_case = MD__METADATA_RECORD__RECORD_REMOVE_TOPIC;
    rec.remove_topic = &r;
    metadata_batch_add_record(bb, &rec);
}

void metadata_batch_add_config(metadata_batch_builder *bb, int resource_type,
                               const char *resource, const char *name, const char *value) {
    Md__ConfigRecord r = MD__CONFIG_RECORD__INIT;
    r.resource_type = resource_type;
    r.resource_name = (char *)resource;
    r.name = (char *)name;
    r.value = (char *)value;
    Md__MetadataRecord rec = MD__METADATA_RECORD__INIT;
    rec.record_case = MD__METADATA_RECORD__RECORD_CONFIG;
    rec.config = &r;
    metadata_batch_add_record(bb, &rec);
}

void metadata_batch_add_register_broker(metadata_batch_builder *bb, const metadata_broker *b) {
    Md__Endpoint eps[8];
    Md__Endpoint *ep_ptrs[8];
    size_t n = b->endpoint_count < 8 ? (size_t)b->endpoint_count : 8;
    for (size_t i = 0; i < n; i++) {
        md__endpoint__init(&eps[i]);
        eps[i].name = b->endpoints[i].name;
        eps[i].host = b->endpoints[i].host;
        eps[i].port = b->endpoints[i].port;
        eps[i].security_protocol = b->endpoints[i].security_protocol;
        ep_ptrs[i] = &eps[i];
    }
    Md__RegisterBrokerRecord r = MD__REGISTER_BROKER_RECORD__INIT;
    r.broker_id = b->id;
    r.incarnation_id = (ProtobufCBinaryData){ 16, (uint8_t *)b->incarnation.b };
    r.broker_epoch = b->epoch;
    r.n_endpoints = n;
    r.endpoints = ep_ptrs;
    r.rack = b->rack;
    r.has_fenced = true;
    r.fenced = b->fenced;
    Md__MetadataRecord rec = MD__METADATA_RECORD__INIT;
    rec.record_case = MD__METADATA_RECORD__RECORD_REGISTER_BROKER;
    rec.register_broker = &r;
    metadata_batch_add_record(bb, &rec);
    if (b->controlled_shutdown) metadata_batch_add_controlled_shutdown(bb, b->id, b->epoch);
}

void metadata_batch_add_unregister_broker(metadata_batch_builder *bb, int32_t broker_id,
                                          int64_t broker_epoch) {
    Md__UnregisterBrokerRecord r = MD__UNREGISTER_BROKER_RECORD__INIT;
    r.broker_id = broker_id;
    r.broker_epoch = broker_epoch;
    Md__MetadataRecord rec = MD__METADATA_RECORD__INIT;
    rec.record_case = MD__METADATA_RECORD__RECORD_UNREGISTER_BROKER;
    rec.unregister_broker = &r;
    metadata_batch_add_record(bb, &rec);
}

void metadata_batch_add_fence(metadata_batch_builder *bb, int32_t broker_id,
                              int64_t broker_epoch, bool fence) {
    Md__MetadataRecord rec = MD__METADATA_RECORD__INIT;
    Md__FenceBrokerRecord f = MD__FENCE_BROKER_RECORD__INIT;
    Md__UnfenceBrokerRecord u = MD__UNFENCE_BROKER_RECORD__INIT;
    if (fence) {
        f.broker_id = broker_id;
        f.broker_epoch = broker_epoch;
        rec.record_case = MD__METADATA_RECORD__RECORD_FENCE_BROKER;
        rec.fence_broker = &f;
    } else {
        u.broker_id = broker_id;
        u.broker_epoch = broker_epoch;
        rec.record_case = MD__METADATA_RECORD__RECORD_UNFENCE_BROKER;
        rec.unfence_broker = &u;
    }
    metadata_batch_add_record(bb, &rec);
}

void metadata_batch_add_controlled_shutdown(metadata_batch_builder *bb, int32_t broker_id,
                                            int64_t broker_epoch) {
    Md__BrokerControlledShutdownRecord r = MD__BROKER_CONTROLLED_SHUTDOWN_RECORD__INIT;
    r.broker_id = broker_id;
    r.broker_epoch = broker_epoch;
    Md__MetadataRecord rec = MD__METADATA_RECORD__INIT;
    rec.record_case = MD__METADATA_RECORD__RECORD_CONTROLLED_SHUTDOWN;
    rec.controlled_shutdown = &r;
    metadata_batch_add_record(bb, &rec);
}

void metadata_batch_add_producer_ids(metadata_batch_builder *bb, int32_t broker_id,
                                     int64_t broker_epoch, int64_t next_producer_id) {
    Md__ProducerIdsRecord r = MD__PRODUCER_IDS_RECORD__INIT;
    r.broker_id = broker_id;
    r.broker_epoch = broker_epoch;
    r.next_producer_id = next_producer_id;
    Md__MetadataRecord rec = MD__METADATA_RECORD__INIT;
    rec.record_case = MD__METADATA_RECORD__RECORD_PRODUCER_IDS;
    rec.producer_ids = &r;
    metadata_batch_add_record(bb, &rec);
}

void metadata_batch_add_feature(metadata_batch_builder *bb, const char *name, int32_t level) {
    Md__FeatureLevelRecord r = MD__FEATURE_LEVEL_RECORD__INIT;
    r.name = (char *)name;
    r.feature_level = level;
    Md__MetadataRecord rec = MD__METADATA_RECORD__INIT;
    rec.record_case = MD__METADATA_RECORD__RECORD_FEATURE_LEVEL;
    rec.feature_level = &r;
    metadata_batch_add_record(bb, &rec);
}

void metadata_batch_add_no_op(metadata_batch_builder *bb) {
    Md__NoOpRecord r = MD__NO_OP_RECORD__INIT;
    Md__MetadataRecord rec = MD__METADATA_RECORD__INIT;
    rec.record_case = MD__METADATA_RECORD__RECORD_NO_OP;
    rec.no_op = &r;
    metadata_batch_add_record(bb, &rec);
}

void metadata_partition_change_init(metadata_partition_change *c) {
    memset(c, 0, sizeof(*c));
    c->leader = METADATA_UNCHANGED;
    c->leader_recovering = -1;
}

static Md__Int32List *list_of(Md__Int32List *l, const metadata_ids *ids) {
    if (!ids) return NULL;
    md__int32_list__init(l);
    l->n_values = (size_t)ids->count;
    l->values = ids->ids;
    return l;
}

void metadata_batch_add_partition_change(metadata_batch_builder *bb,
                                         const metadata_uuid *topic_id, int32_t partition,
                                         const metadata_partition_change *c) {
    Md__Int32List isr, rep, add, rem, elr;
    Md__PartitionChangeRecord r = MD__PARTITION_CHANGE_RECORD__INIT;
    r.topic_id = uuid_bytes(topic_id);
    r.partition_id = partition;
    if (c->leader != METADATA_UNCHANGED) {
        r.has_leader = true;
        r.leader = c->leader;
    }
    r.isr = list_of(&isr, c->isr);
    r.replicas = list_of(&rep, c->replicas);
    r.adding_replicas = list_of(&add, c->adding);
    r.removing_replicas = list_of(&rem, c->removing);
    r.elr = list_of(&elr, c->elr);
    if (c->leader_recovering >= 0) {
        r.has_leader_recovering = true;
        r.leader_recovering = c->leader_recovering != 0;
    }
    if (c->unclean) {
        r.has_unclean = true;
        r.unclean = true;
    }
    Md__MetadataRecord rec = MD__METADATA_RECORD__INIT;
    rec.record_case = MD__METADATA_RECORD__RECORD_PARTITION_CHANGE;
    rec.partition_change = &r;
    metadata_batch_add_record(bb, &rec);
}
