/* controller_admin.h — private to controller/: shared by the admin request handlers. */
#ifndef CONTROLLER_ADMIN_H
#define CONTROLLER_ADMIN_H

#include "controller/controller_int.h"
#include "common/sl_arena.h"

#include <stdarg.h>

typedef struct admin_ctx {
    controller *c;
    const protocol_api *api;
    int16_t version;
    sl_arena arena;   /* the decoded request's arrays, the response, strings */
    uint8_t *body;    /* the request bytes the decoded views point into (owned) */
    void *req;
    void *resp;
    controller_admin_reply_fn reply;
    void *reply_arg;
    int64_t offset;   /* metadata offset of the records (-1 when none) */
} admin_ctx;

/* A formatted string in the request's arena. */
sl_str admin_str(admin_ctx *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A NUL-terminated copy of a view in the arena ("" for null). */
char *admin_cstr(admin_ctx *a, sl_str s);
void admin_add_partitions(controller *c, metadata_batch_builder *bb, const metadata_uuid *id,
                          int32_t first, int32_t count, int16_t rf, const int32_t *replicas);

void controller_admin_alter_configs(admin_ctx *a, metadata_batch_builder *bb);
void controller_admin_incremental_alter_configs(admin_ctx *a, metadata_batch_builder *bb);
void controller_admin_elect_leaders(admin_ctx *a, metadata_batch_builder *bb);
void controller_admin_alter_reassignments(admin_ctx *a, metadata_batch_builder *bb);
void controller_admin_list_reassignments(admin_ctx *a);
void controller_admin_describe_quorum(admin_ctx *a);

#endif
