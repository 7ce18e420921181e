/* metadata_image.c — the image's storage, copies and queries (replay is in
 * metadata_replay.c, snapshots in metadata_snapshot.c). */
#include "metadata/metadata_int.h"
#include "common/sl_alloc.h"
#include "common/sl_assert.h"
#include "common/sl_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void metadata_ids_set(metadata_ids *ids, const int32_t *values, size_t count) {
    sl_free(ids->ids);
    ids->ids = count ? sl_malloc(count * sizeof(int32_t)) : NULL;
    if (count) memcpy(ids->ids, values, count * sizeof(int32_t));
    ids->count = (int32_t)count;
}

void metadata_ids_free(metadata_ids *ids) {
    sl_free(ids->ids);
    ids->ids = NULL;
    ids->count = 0;
}

void metadata_ids_copy(metadata_ids *dst, const metadata_ids *src) {
    dst->ids = NULL;
    metadata_ids_set(dst, src->ids, (size_t)src->count);
}

bool metadata_ids_contains(const metadata_ids *ids, int32_t id) {
    for (int32_t i = 0; i < ids->count; i++) {
        if (ids->ids[i] == id) return true;
    }
    return false;
}

void metadata_image_init(metadata_image *img) {
    memset(img, 0, sizeof(*img));
    sl_imap_init(&img->brokers);
    sl_map_init(&img->topics);
    sl_map_init(&img->topics_by_id);
    sl_props_init(&img->features);
    img->offset = -1;
    img->epoch = -1;
}

static void partition_free(metadata_partition *p) {
    metadata_ids_free(&p->replicas);
    metadata_ids_free(&p->isr);
    metadata_ids_free(&p->adding);
    metadata_ids_free(&p->removing);
    metadata_ids_free(&p->elr);
}

void metadata_topic_free(metadata_topic *t) {
    if (!t) return;
    for (int32_t i = 0; i < t->partition_count; i++) partition_free(&t->partitions[i]);
    sl_free(t->partitions);
    sl_props_deinit(&t->configs);
    sl_free(t->name);
    sl_free(t);
}

void metadata_broker_free(metadata_broker *b) {
    if (!b) return;
    for (int32_t i = 0; i < b->endpoint_count; i++) {
        sl_free(b->endpoints[i].name);
        sl_free(b->endpoints[i].host);
        sl_free(b->endpoints[i].security_protocol);
    }
    sl_free(b->endpoints);
    sl_free(b->rack);
    sl_free(b);
}

void metadata_image_deinit(metadata_image *img) {
    for (size_t i = 0; i < img->brokers.cap; i++) {
        if (sl_imap_slot_used(&img->brokers, i)) metadata_broker_free(img->brokers.slots[i].value);
    }
    for (size_t i = 0; i < img->topics.cap; i++) {
        if (sl_map_slot_used(&img->topics, i)) metadata_topic_free(img->topics.slots[i].value);
    }
    for (int32_t i = 0; i < img->broker_config_count; i++) {
        sl_free(img->broker_configs[i].resource);
        sl_props_deinit(&img->broker_configs[i].props);
    }
    sl_free(img->broker_configs);
    sl_imap_deinit(&img->brokers);
    sl_map_deinit(&img->topics);
    sl_map_deinit(&img->topics_by_id);
    sl_props_deinit(&img->features);
    sl_free(img->cluster_id);
    metadata_image_init(img);
}

void metadata_image_add_topic(metadata_image *img, metadata_topic *t) {
    sl_map_put(&img->topics, t->name, strlen(t->name), t);
    sl_map_put(&img->topics_by_id, t->id.b, sizeof(t->id.b), t);
}

void metadata_image_remove_topic(metadata_image *img, metadata_topic *t) {
    sl_map_remove(&img->topics, t->name, strlen(t->name));
    sl_map_remove(&img->topics_by_id, t->id.b, sizeof(t->id.b));
    metadata_topic_free(t);
}

static metadata_broker *broker_copy(const metadata_broker *src) {
    metadata_broker *b = SL_NEW(metadata_broker);
    *b = *src;
    b->endpoints = src->endpoint_count ? sl_calloc((size_t)src->endpoint_count,
                                                   sizeof(metadata_endpoint))
                                       : NULL;
    for (int32_t i = 0; i < src->endpoint_count; i++) {
        b->endpoints[i].name = sl_strdup(src->endpoints[i].name);
        b->endpoints[i].host = sl_strdup(src->endpoints[i].host);
        b->endpoints[i].port = src->endpoints[i].port;
        b->endpoints[i].security_protocol = sl_strdup(src->endpoints[i].security_protocol);
    }
    b->rack = src->rack ? sl_strdup(src->rack) : NULL;
    return b;
}

static metadata_topic *topic_copy(const metadata_topic *src) {
    metadata_topic *t = SL_NEW(metadata_topic);
    t->name = sl_strdup(src->name);
    t->id = src->id;
    t->partition_count = src->partition_count;
    t->partitions = sl_calloc((size_t)src->partition_count + 1, sizeof(metadata_partition));
    for (int32_t i = 0; i < src->partition_count; i++) {
        const metadata_partition *sp = &src->partitions[i];
        metadata_partition *p = &t->partitions[i];
        *p = *sp;
        metadata_ids_copy(&p->replicas, &sp->replicas);
        metadata_ids_copy(&p->isr, &sp->isr);
        metadata_ids_copy(&p->adding, &sp->adding);
        metadata_ids_copy(&p->removing, &sp->removing);
        metadata_ids_copy(&p->elr, &sp->elr);
    }
    sl_props_init(&t->configs);
    sl_props_copy(&t->configs, &src->configs);
    return t;
}

void metadata_image_copy(metadata_image *dst, const metadata_image *src) {
    metadata_image_deinit(dst);
    dst->cluster_id = src->cluster_id ? sl_strdup(src->cluster_id) : NULL;
    for (size_t i = 0; i < src->brokers.cap; i++) {
        if (!sl_imap_slot_used(&src->brokers, i)) continue;
        metadata_broker *b = broker_copy(src->brokers.slots[i].value);
        sl_imap_put(&dst->brokers, b->id, b);
    }
    for (size_t i = 0; i < src->topics.cap; i++) {
        if (!sl_map_slot_used(&src->topics, i)) continue;
        metadata_image_add_topic(dst, topic_copy(src->topics.slots[i].value));
    }
    for (int32_t i = 0; i < src->broker_config_count; i++) {
        metadata_config_set *set =
            metadata_image_config_set_get(dst, src->broker_configs[i].resource, true);
        sl_props_copy(&set->props, &src->broker_configs[i].props);
    }
    dst->next_producer_id = src->next_producer_id;
    sl_props_copy(&dst->features, &src->features);
    dst->offset = src->offset;
    dst->epoch = src->epoch;
}

metadata_config_set *metadata_image_config_set_get(metadata_image *img, const char *resource,
                                                   bool create) {
    for (int32_t i = 0; i < img->broker_config_count; i++) {
        if (strcmp(img->broker_configs[i].resource, resource) == 0) return &img->broker_configs[i];
    }
    if (!create) return NULL;
    img->broker_configs = sl_realloc(img->broker_configs, ((size_t)img->broker_config_count + 1) *
                                                              sizeof(metadata_config_set));
    metadata_config_set *set = &img->broker_configs[img->broker_config_count++];
    set->resource = sl_strdup(resource);
    sl_props_init(&set->props);
    return set;
}

metadata_topic *metadata_image_topic(const metadata_image *img, const char *name, size_t len) {
    return sl_map_get(&img->topics, name, len);
}

metadata_topic *metadata_image_topic_by_id(const metadata_image *img, const metadata_uuid *id) {
    return sl_map_get(&img->topics_by_id, id->b, sizeof(id->b));
}

metadata_partition *metadata_topic_partition(const metadata_topic *topic, int32_t partition) {
    if (!topic || partition < 0 || partition >= topic->partition_count) return NULL;
    return &topic->partitions[partition];
}

metadata_broker *metadata_image_broker(const metadata_image *img, int32_t id) {
    return sl_imap_get(&img->brokers, id);
}

bool metadata_broker_is_live(const metadata_broker *b) {
    return b && !b->fenced && !b->controlled_shutdown;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int32_t collect_brokers(const metadata_image *img, int32_t *ids_out, int32_t max,
                               bool live_only) {
    int32_t n = 0;
    for (size_t i = 0; i < img->brokers.cap && n < max; i++) {
        if (!sl_imap_slot_used(&img->brokers, i)) continue;
        const metadata_broker *b = img->brokers.slots[i].value;
        if (live_only && !metadata_broker_is_live(b)) continue;
        ids_out[n++] = b->id;
    }
    qsort(ids_out, (size_t)n, sizeof(int32_t), cmp_i32);
    return n;
}

int32_t metadata_image_live_brokers(const metadata_image *img, int32_t *ids_out, int32_t max) {
    return collect_brokers(img, ids_out, max, true);
}

int32_t metadata_image_all_brokers(const metadata_image *img, int32_t *ids_out, int32_t max) {
    return collect_brokers(img, ids_out, max, false);
}

const metadata_endpoint *metadata_broker_endpoint(const metadata_broker *b,
                                                  const char *listener_name) {
    for (int32_t i = 0; i < b->endpoint_count; i++) {
        if (!listener_name || strcmp(b->endpoints[i].name, listener_name) == 0) {
            return &b->endpoints[i];
        }
    }
    return NULL;
}

const sl_props *metadata_image_config_set(const metadata_image *img, int resource_type,
                                          const char *resource) {
    if (resource_type == METADATA_RESOURCE_TOPIC) {
        const metadata_topic *t = metadata_image_topic(img, resource, strlen(resource));
        return t ? &t->configs : NULL;
    }
    if (resource_type == METADATA_RESOURCE_BROKER) {
        metadata_config_set *set =
            metadata_image_config_set_get((metadata_image *)img, resource, false);
        return set ? &set->props : NULL;
    }
    return NULL;
}

const char *metadata_image_config(const metadata_image *img, int resource_type,
                                  const char *resource, const char *name) {
    const sl_props *props = metadata_image_config_set(img, resource_type, resource);
    return props ? sl_props_get(props, name) : NULL;
}

static int cmp_topic_name(const void *a, const void *b) {
    const metadata_topic *x = *(metadata_topic *const *)a, *y = *(metadata_topic *const *)b;
    return strcmp(x->name, y->name);
}

metadata_topic **metadata_image_sorted_topics(const metadata_image *img, int32_t *count_out) {
    metadata_topic **out = sl_malloc((img->topics.count + 1) * sizeof(*out));
    int32_t n = 0;
    for (size_t i = 0; i < img->topics.cap; i++) {
        if (sl_map_slot_used(&img->topics, i)) out[n++] = img->topics.slots[i].value;
    }
    qsort(out, (size_t)n, sizeof(*out), cmp_topic_name);
    *count_out = n;
    return out;
}

/* ---------------- delta ---------------- */

void metadata_delta_init(metadata_delta *delta) {
    memset(delta, 0, sizeof(*delta));
}

void metadata_delta_deinit(metadata_delta *delta) {
    for (int32_t i = 0; i < delta->partition_count; i++) sl_free(delta->partitions[i].topic);
    for (int32_t i = 0; i < delta->deleted_count; i++) sl_free(delta->deleted_topics[i].name);
    sl_free(delta->partitions);
    sl_free(delta->deleted_topics);
    metadata_delta_init(delta);
}

void metadata_delta_add_partition(metadata_delta *delta, const metadata_topic *t,
                                  int32_t partition) {
    if (!delta) return;
    for (int32_t i = 0; i < delta->partition_count; i++) {
        metadata_delta_partition *d = &delta->partitions[i];
        if (d->partition == partition && memcmp(&d->topic_id, &t->id, sizeof(t->id)) == 0) {
            return;
        }
    }
    if (delta->partition_count == delta->partition_cap) {
        delta->partition_cap = delta->partition_cap ? delta->partition_cap * 2 : 16;
        delta->partitions = sl_realloc(delta->partitions, (size_t)delta->partition_cap *
                                                              sizeof(metadata_delta_partition));
    }
    delta->partitions[delta->partition_count++] =
        (metadata_delta_partition){ sl_strdup(t->name), t->id, partition };
}

void metadata_delta_add_deleted(metadata_delta *delta, const metadata_topic *t) {
    if (!delta) return;
    if (delta->deleted_count == delta->deleted_cap) {
        delta->deleted_cap = delta->deleted_cap ? delta->deleted_cap * 2 : 4;
        delta->deleted_topics = sl_realloc(delta->deleted_topics, (size_t)delta->deleted_cap *
                                                                      sizeof(metadata_delta_topic));
    }
    delta->deleted_topics[delta->deleted_count++] =
        (metadata_delta_topic){ sl_strdup(t->name), t->id, t->partition_count };
}

/* ---------------- uuids ---------------- */

void metadata_uuid_random(metadata_uuid *out) {
    do {
        if (getrandom(out->b, sizeof(out->b), 0) != (ssize_t)sizeof(out->b)) {
            SL_ASSERT(!"getrandom failed");
        }
        out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x40);
        out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80);
    } while (metadata_uuid_is_zero(out));
}

bool metadata_uuid_is_zero(const metadata_uuid *id) {
    for (int i = 0; i < 16; i++) {
        if (id->b[i]) return false;
    }
    return true;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void metadata_uuid_format(const metadata_uuid *id, char out[23]) {
    int o = 0;
    for (int i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)id->b[i] << 16;
        if (i + 1 < 16) v |= (uint32_t)id->b[i + 1] << 8;
        if (i + 2 < 16) v |= id->b[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < 16) out[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < 16) out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
}

int metadata_uuid_parse(const char *text, metadata_uuid *out) {
    if (strlen(text) != 22) return SL_E_INVALID;
    uint8_t bits[17] = { 0 };
    uint32_t acc = 0;
    int nbits = 0, o = 0;
    for (int i = 0; i < 22; i++) {
        const char *p = strchr(b64url, text[i]);
        if (!p || !text[i]) return SL_E_INVALID;
        acc = acc << 6 | (uint32_t)(p - b64url);
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            bits[o++] = (uint8_t)(acc >> nbits);
        }
    }
    memcpy(out->b, bits, 16);
    return SL_OK;
}
