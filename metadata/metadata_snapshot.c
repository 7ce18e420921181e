/* metadata_snapshot.c — an image as one md.MetadataBatch, and back.
 * A snapshot is the records that rebuild the image from empty: cluster id, features,
 * brokers (registration + fence/shutdown state), topics with their partitions and
 * configs, dynamic broker configs, and the producer-id high water mark. Topics are
 * written in name order so equal images give equal snapshots. */
#include "metadata/metadata_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"

#include <stdlib.h>
#include <string.h>

static void snapshot_brokers(const metadata_image *img, metadata_batch_builder *bb) {
    int32_t n = (int32_t)img->brokers.count;
    int32_t *ids = sl_malloc(((size_t)n + 1) * sizeof(int32_t));
    n = metadata_image_all_brokers(img, ids, n);
    for (int32_t i = 0; i < n; i++) {
        metadata_batch_add_register_broker(bb, metadata_image_broker(img, ids[i]));
    }
    sl_free(ids);
}

static void snapshot_topics(const metadata_image *img, metadata_batch_builder *bb) {
    int32_t n;
    metadata_topic **topics = metadata_image_sorted_topics(img, &n);
    for (int32_t i = 0; i < n; i++) {
        const metadata_topic *t = topics[i];
        metadata_batch_add_topic(bb, t->name, &t->id);
        for (int32_t p = 0; p < t->partition_count; p++) {
            metadata_batch_add_partition(bb, &t->id, &t->partitions[p]);
        }
        for (size_t c = 0; c < t->configs.count; c++) {
            metadata_batch_add_config(bb, METADATA_RESOURCE_TOPIC, t->name,
                                      t->configs.items[c].key, t->configs.items[c].value);
        }
    }
    sl_free(topics);
}

void metadata_image_snapshot(const metadata_image *img, sl_buf *out) {
    metadata_batch_builder bb;
    metadata_batch_builder_init(&bb);
    if (img->cluster_id) metadata_batch_add_cluster_id(&bb, img->cluster_id);
    for (size_t i = 0; i < img->features.count; i++) {
        metadata_batch_add_feature(&bb, img->features.items[i].key,
                                   atoi(img->features.items[i].value));
    }
    snapshot_brokers(img, &bb);
    snapshot_topics(img, &bb);
    for (int32_t i = 0; i < img->broker_config_count; i++) {
        const metadata_config_set *set = &img->broker_configs[i];
        for (size_t c = 0; c < set->props.count; c++) {
            metadata_batch_add_config(&bb, METADATA_RESOURCE_BROKER, set->resource,
                                      set->props.items[c].key, set->props.items[c].value);
        }
    }
    if (img->next_producer_id > 0) {
        metadata_batch_add_producer_ids(&bb, -1, -1, img->next_producer_id);
    }
    sl_buf_put(out, bb.buf.data, bb.buf.len);
    metadata_batch_builder_deinit(&bb);
}

int metadata_image_load_snapshot(metadata_image *img, const uint8_t *data, size_t len,
                                 int64_t offset, int32_t epoch) {
    metadata_image_deinit(img);
    return metadata_image_apply_batch(img, data, len, offset, epoch, NULL);
}
