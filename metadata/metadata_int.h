/* metadata_int.h — private to metadata/. */
#ifndef METADATA_INT_H
#define METADATA_INT_H

#include "metadata/metadata.h"

void metadata_ids_set(metadata_ids *ids, const int32_t *values, size_t count);
void metadata_ids_free(metadata_ids *ids);
void metadata_ids_copy(metadata_ids *dst, const metadata_ids *src);
void metadata_topic_free(metadata_topic *t);
void metadata_broker_free(metadata_broker *b);
metadata_config_set *metadata_image_config_set_get(metadata_image *img, const char *resource,
                                                   bool create);
/* Register a topic in both maps (the image owns it from now on). */
void metadata_image_add_topic(metadata_image *img, metadata_topic *t);
void metadata_image_remove_topic(metadata_image *img, metadata_topic *t);

#endif
