/* metadata_replay.c — applying metadata records to the image.
 *
 * Each apply_* validates its record against the image first and changes nothing when the
 * record is invalid (SL_E_CORRUPT), so every node that replays the same log skips the same
 * records and stays identical. */
#include "metadata/metadata_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define PARTITIONS_MAX 1000000 /* a sanity bound on one topic's partition id */

static int uuid_from_bytes(ProtobufCBinaryData data, metadata_uuid *out) {
    if (data.len != sizeof(out->b)) return SL_E_CORRUPT;
    memcpy(out->b, data.data, sizeof(out->b));
    return SL_OK;
}

static metadata_topic *topic_for(metadata_image *img, ProtobufCBinaryData id) {
    metadata_uuid uuid;
    if (uuid_from_bytes(id, &uuid) < 0) return NULL;
    return metadata_image_topic_by_id(img, &uuid);
}

/* Every id in sub appears in replicas, and no id repeats. */
static bool ids_valid(const int32_t *ids, size_t n, const int32_t *replicas, size_t rn) {
    for (size_t i = 0; i < n; i++) {
        bool found = replicas == NULL;
        for (size_t j = 0; j < rn && !found; j++) found = replicas[j] == ids[i];
        if (!found) return false;
        for (size_t k = 0; k < i; k++) {
            if (ids[k] == ids[i]) return false;
        }
    }
    return true;
}

static int apply_cluster_id(metadata_image *img, const Md__ClusterIdRecord *r,
                            metadata_delta *delta) {
    if (!r->cluster_id || !r->cluster_id[0]) return SL_E_CORRUPT;
    if (img->cluster_id) return SL_E_CORRUPT; /* the cluster id never changes */
    img->cluster_id = sl_strdup(r->cluster_id);
    if (delta) delta->cluster_id_changed = true;
    return SL_OK;
}

static int apply_register_broker(metadata_image *img, const Md__RegisterBrokerRecord *r,
                                 int64_t offset, metadata_delta *delta) {
    if (r->broker_id < 0 || r->incarnation_id.len != 16) return SL_E_CORRUPT;
    /* A new registration's epoch is its entry's offset (the controller writes -1); a
     * snapshot carries the original epoch. */
    int64_t epoch = r->broker_epoch >= 0 ? r->broker_epoch : offset;
    metadata_broker *old = metadata_image_broker(img, r->broker_id);
    if (old && epoch <= old->epoch) return SL_E_CORRUPT;
    metadata_broker *b = SL_NEW(metadata_broker);
    b->id = r->broker_id;
    b->epoch = epoch;
    memcpy(b->incarnation.b, r->incarnation_id.data, 16);
    b->endpoint_count = (int32_t)r->n_endpoints;
    b->endpoints = r->n_endpoints ? sl_calloc(r->n_endpoints, sizeof(metadata_endpoint)) : NULL;
    for (size_t i = 0; i < r->n_endpoints; i++) {
        const Md__Endpoint *e = r->endpoints[i];
        b->endpoints[i].name = sl_strdup(e->name);
        b->endpoints[i].host = sl_strdup(e->host);
        b->endpoints[i].port = e->port;
        b->endpoints[i].security_protocol =
            sl_strdup(e->security_protocol ? e->security_protocol : "PLAINTEXT");
    }
    b->rack = r->rack && r->rack[0] ? sl_strdup(r->rack) : NULL;
    b->fenced = r->has_fenced ? r->fenced : true;
    metadata_broker_free(sl_imap_put(&img->brokers, b->id, b));
    if (delta) delta->brokers_changed = true;
    return SL_OK;
}

static metadata_broker *broker_at_epoch(metadata_image *img, int32_t id, int64_t epoch) {
    metadata_broker *b = metadata_image_broker(img, id);
    return b && b->epoch == epoch ? b : NULL;
}

static int apply_broker_state(metadata_image *img, int32_t id, int64_t epoch, int what,
                              metadata_delta *delta) {
    metadata_broker *b = broker_at_epoch(img, id, epoch);
    if (!b) return SL_E_CORRUPT;
    switch (what) {
    case 0: /* fence */
        b->fenced = true;
        break;
    case 1: /* unfence: also ends a controlled shutdown of an earlier incarnation */
        b->fenced = false;
        b->controlled_shutdown = false;
        break;
    case 2:
        b->controlled_shutdown = true;
        break;
    case 3:
        metadata_broker_free(sl_imap_remove(&img->brokers, id));
        break;
    default:
        return SL_E_CORRUPT;
    }
    if (delta) delta->brokers_changed = true;
    return SL_OK;
}

static int apply_topic(metadata_image *img, const Md__TopicRecord *r) {
    metadata_uuid id;
    if (!r->name || uuid_from_bytes(r->topic_id, &id) < 0 || metadata_uuid_is_zero(&id)) {
        return SL_E_CORRUPT;
    }
    char err[128];
    if (metadata_topic_name_check(r->name, strlen(r->name), err, sizeof(err)) < 0 &&
        !metadata_topic_is_internal(r->name, strlen(r->name))) {
        return SL_E_CORRUPT;
    }
    if (metadata_image_topic(img, r->name, strlen(r->name)) || metadata_image_topic_by_id(img, &id)) {
        return SL_E_CORRUPT;
    }
    metadata_topic *t = SL_NEW(metadata_topic);
    t->name = sl_strdup(r->name);
    t->id = id;
    sl_props_init(&t->configs);
    metadata_image_add_topic(img, t);
    return SL_OK;
}

/* A new partition must be the next id of its topic (partitions are never removed). */
static int apply_partition(metadata_image *img, const Md__PartitionRecord *r,
                           metadata_delta *delta) {
    metadata_topic *t = topic_for(img, r->topic_id);
    if (!t || r->partition_id != t->partition_count || r->partition_id >= PARTITIONS_MAX) {
        return SL_E_CORRUPT;
    }
    if (r->n_replicas == 0 || !ids_valid(r->replicas, r->n_replicas, NULL, 0) ||
        !ids_valid(r->isr, r->n_isr, r->replicas, r->n_replicas) ||
        !ids_valid(r->adding_replicas, r->n_adding_replicas, r->replicas, r->n_replicas) ||
        !ids_valid(r->removing_replicas, r->n_removing_replicas, r->replicas, r->n_replicas) ||
        !ids_valid(r->elr, r->n_elr, r->replicas, r->n_replicas)) {
        return SL_E_CORRUPT;
    }
    if (r->leader != -1 && !ids_valid(&r->leader, 1, r->replicas, r->n_replicas)) {
        return SL_E_CORRUPT;
    }
    t->partitions = sl_realloc(t->partitions,
                               ((size_t)t->partition_count + 1) * sizeof(metadata_partition));
    metadata_partition *p = &t->partitions[t->partition_count++];
    memset(p, 0, sizeof(*p));
    p->id = r->partition_id;
    metadata_ids_set(&p->replicas, r->replicas, r->n_replicas);
    metadata_ids_set(&p->isr, r->isr, r->n_isr);
    metadata_ids_set(&p->adding, r->adding_replicas, r->n_adding_replicas);
    metadata_ids_set(&p->removing, r->removing_replicas, r->n_removing_replicas);
    metadata_ids_set(&p->elr, r->elr, r->n_elr);
    p->leader = r->leader;
    p->leader_epoch = r->leader_epoch;
    p->partition_epoch = r->partition_epoch;
    p->leader_recovering = r->has_leader_recovering && r->leader_recovering;
    metadata_delta_add_partition(delta, t, p->id);
    return SL_OK;
}

static const int32_t *list_or(const Md__Int32List *l, const metadata_ids *cur, size_t *n) {
    if (l) {
        *n = l->n_values;
        return l->values;
    }
    *n = (size_t)cur->count;
    return cur->ids;
}

static int apply_partition_change(metadata_image *img, const Md__PartitionChangeRecord *r,
                                  metadata_delta *delta) {
    metadata_topic *t = topic_for(img, r->topic_id);
    metadata_partition *p = metadata_topic_partition(t, r->partition_id);
    if (!p) return SL_E_CORRUPT;
    size_t rn, in, an, mn, en;
    const int32_t *rep = list_or(r->replicas, &p->replicas, &rn);
    const int32_t *isr = list_or(r->isr, &p->isr, &in);
    const int32_t *add = list_or(r->adding_replicas, &p->adding, &an);
    const int32_t *rem = list_or(r->removing_replicas, &p->removing, &mn);
    const int32_t *elr = list_or(r->elr, &p->elr, &en);
    int32_t leader = r->has_leader ? r->leader : p->leader;
    if (rn == 0 || !ids_valid(rep, rn, NULL, 0) || !ids_valid(isr, in, rep, rn) ||
        !ids_valid(add, an, rep, rn) || !ids_valid(rem, mn, rep, rn) ||
        !ids_valid(elr, en, rep, rn)) {
        return SL_E_CORRUPT;
    }
    if (leader != -1 && !ids_valid(&leader, 1, rep, rn)) return SL_E_CORRUPT;
    /* Copy before replacing: a list may alias the partition's current arrays. */
    metadata_ids n_rep = { 0 }, n_isr = { 0 }, n_add = { 0 }, n_rem = { 0 }, n_elr = { 0 };
    metadata_ids_set(&n_rep, rep, rn);
    metadata_ids_set(&n_isr, isr, in);
    metadata_ids_set(&n_add, add, an);
    metadata_ids_set(&n_rem, rem, mn);
    metadata_ids_set(&n_elr, elr, en);
    metadata_ids_free(&p->replicas);
    metadata_ids_free(&p->isr);
    metadata_ids_free(&p->adding);
    metadata_ids_free(&p->removing);
    metadata_ids_free(&p->elr);
    p->replicas = n_rep;
    p->isr = n_isr;
    p->adding = n_add;
    p->removing = n_rem;
    p->elr = n_elr;
    /* As in KRaft's PartitionRegistration.merge: a record that carries a leader field (even
     * the same leader) starts a new leader epoch; the partition epoch moves on every change.
     * The controller sets the field whenever followers must see a new epoch. */
    if (r->has_leader) p->leader_epoch++;
    p->leader = leader;
    p->partition_epoch++;
    if (r->has_leader_recovering) p->leader_recovering = r->leader_recovering;
    metadata_delta_add_partition(delta, t, p->id);
    return SL_OK;
}

static int apply_remove_topic(metadata_image *img, const Md__RemoveTopicRecord *r,
                              metadata_delta *delta) {
    metadata_topic *t = topic_for(img, r->topic_id);
    if (!t) return SL_E_CORRUPT;
    metadata_delta_add_deleted(delta, t);
    metadata_image_remove_topic(img, t);
    return SL_OK;
}

static int apply_config(metadata_image *img, const Md__ConfigRecord *r, metadata_delta *delta) {
    if (!r->resource_name || !r->name) return SL_E_CORRUPT;
    sl_props *props;
    if (r->resource_type == METADATA_RESOURCE_TOPIC) {
        metadata_topic *t = metadata_image_topic(img, r->resource_name, strlen(r->resource_name));
        if (!t) return SL_E_CORRUPT;
        props = &t->configs;
    } else if (r->resource_type == METADATA_RESOURCE_BROKER) {
        props = &metadata_image_config_set_get(img, r->resource_name, true)->props;
    } else {
        return SL_E_CORRUPT;
    }
    if (r->value) {
        sl_props_set(props, r->name, r->value);
    } else {
        sl_props_remove(props, r->name);
    }
    if (delta) delta->configs_changed = true;
    return SL_OK;
}

static int apply_producer_ids(metadata_image *img, const Md__ProducerIdsRecord *r) {
    if (r->next_producer_id < img->next_producer_id) return SL_E_CORRUPT;
    img->next_producer_id = r->next_producer_id;
    return SL_OK;
}

static int apply_feature(metadata_image *img, const Md__FeatureLevelRecord *r) {
    if (!r->name || !r->name[0]) return SL_E_CORRUPT;
    char level[16];
    snprintf(level, sizeof(level), "%d", r->feature_level);
    sl_props_set(&img->features, r->name, level);
    return SL_OK;
}

int metadata_image_apply_record(metadata_image *img, const Md__MetadataRecord *rec,
                                int64_t offset, metadata_delta *delta) {
    switch (rec->record_case) {
    case MD__METADATA_RECORD__RECORD_CLUSTER_ID:
        return apply_cluster_id(img, rec->cluster_id, delta);
    case MD__METADATA_RECORD__RECORD_REGISTER_BROKER:
        return apply_register_broker(img, rec->register_broker, offset, delta);
    case MD__METADATA_RECORD__RECORD_UNREGISTER_BROKER:
        return apply_broker_state(img, rec->unregister_broker->broker_id,
                                  rec->unregister_broker->broker_epoch, 3, delta);
    case MD__METADATA_RECORD__RECORD_FENCE_BROKER:
        return apply_broker_state(img, rec->fence_broker->broker_id,
                                  rec->fence_broker->broker_epoch, 0, delta);
    case MD__METADATA_RECORD__RECORD_UNFENCE_BROKER:
        return apply_broker_state(img, rec->unfence_broker->broker_id,
                                  rec->unfence_broker->broker_epoch, 1, delta);
    case MD__METADATA_RECORD__RECORD_CONTROLLED_SHUTDOWN:
        return apply_broker_state(img, rec->controlled_shutdown->broker_id,
                                  rec->controlled_shutdown->broker_epoch, 2, delta);
    case MD__METADATA_RECORD__RECORD_TOPIC:
        return apply_topic(img, rec->topic);
    case MD__METADATA_RECORD__RECORD_PARTITION:
        return apply_partition(img, rec->partition, delta);
    case MD__METADATA_RECORD__RECORD_PARTITION_CHANGE:
        return apply_partition_change(img, rec->partition_change, delta);
    case MD__METADATA_RECORD__RECORD_REMOVE_TOPIC:
        return apply_remove_topic(img, rec->remove_topic, delta);
    case MD__METADATA_RECORD__RECORD_CONFIG:
        return apply_config(img, rec->config, delta);
    case MD__METADATA_RECORD__RECORD_PRODUCER_IDS:
        return apply_producer_ids(img, rec->producer_ids);
    case MD__METADATA_RECORD__RECORD_FEATURE_LEVEL:
        return apply_feature(img, rec->feature_level);
    case MD__METADATA_RECORD__RECORD_NO_OP:
        return SL_OK;
    default:
        return SL_E_CORRUPT;
    }
}

int metadata_image_apply_batch(metadata_image *img, const uint8_t *payload, size_t len,
                               int64_t offset, int32_t epoch, metadata_delta *delta) {
    Md__MetadataBatch *batch = md__metadata_batch__unpack(NULL, len, payload);
    if (!batch) {
        SL_LOG(SL_ERROR, "metadata", "batch_unparsable", "offset=%" PRId64 " bytes=%zu", offset,
               len);
        img->offset = offset;
        img->epoch = epoch;
        return SL_E_CORRUPT;
    }
    int rc = SL_OK;
    for (size_t i = 0; i < batch->n_records; i++) {
        int r = metadata_image_apply_record(img, batch->records[i], offset, delta);
        if (r < 0) {
            SL_LOG(SL_ERROR, "metadata", "record_rejected", "offset=%" PRId64 " index=%zu type=%d",
                   offset, i, (int)batch->records[i]->record_case);
            rc = r;
        }
    }
    md__metadata_batch__free_unpacked(batch, NULL);
    img->offset = offset;
    img->epoch = epoch;
    return rc;
}
