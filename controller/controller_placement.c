/* controller_placement.c — replica placement and per-topic policy lookups. */
#include "controller/controller_int.h"

#include <stdlib.h>
#include <string.h>

int16_t controller_place(const int32_t *live, int32_t live_count, int32_t start, int32_t first,
                         int32_t count, int16_t rf, int32_t *out) {
    if (rf < 1 || rf > live_count) return PROTOCOL_ERR_INVALID_REPLICATION_FACTOR;
    for (int32_t k = 0; k < count; k++) {
        int32_t p = first + k;
        for (int16_t i = 0; i < rf; i++) {
            out[(size_t)k * (size_t)rf + (size_t)i] =
                live[((int64_t)start + p + i) % live_count];
        }
    }
    return PROTOCOL_ERR_NONE;
}

int32_t controller_place_start(const metadata_image *img, int32_t live_count) {
    if (live_count <= 0) return 0;
    int64_t partitions = 0;
    for (size_t i = 0; i < img->topics.cap; i++) {
        if (!sl_map_slot_used(&img->topics, i)) continue;
        const metadata_topic *t = img->topics.slots[i].value;
        partitions += t->partition_count;
    }
    return (int32_t)(partitions % live_count);
}

int32_t controller_topic_min_isr(const metadata_image *img, const metadata_topic *t,
                                 const controller_defaults *d) {
    const char *v =
        metadata_topic_config_value(img, t, "min.insync.replicas", -1, d ? d->props : NULL, NULL);
    int n = v ? atoi(v) : 1;
    return n < 1 ? 1 : n;
}

bool controller_topic_unclean(const metadata_image *img, const metadata_topic *t,
                              const controller_defaults *d) {
    const char *v = metadata_topic_config_value(img, t, "unclean.leader.election.enable", -1,
                                                d ? d->props : NULL, NULL);
    return v && strcmp(v, "true") == 0;
}
