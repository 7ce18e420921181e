/* broker_group.c — the group coordinator's entry points. Consumer groups are served by
 * the group coordinator (broker_group_*.c); until a coordinator partition is led here,
 * FindCoordinator answers COORDINATOR_NOT_AVAILABLE, which clients retry. */
#include "broker/broker_int.h"

void broker_groups_partition_changed(broker *b, broker_partition *p) {
    (void)b;
    (void)p;
}

void broker_groups_collect_metrics(broker *b, sl_buf *out) {
    (void)b;
    (void)out;
}

broker_handled broker_handle_find_coordinator(broker_request *req) {
    protocol_FindCoordinatorRequest *fr = broker_request_decode(req);
    if (!fr) return BROKER_CLOSE;
    protocol_FindCoordinatorResponse *resp = broker_response_new(req);
    resp->ErrorCode = PROTOCOL_ERR_COORDINATOR_NOT_AVAILABLE;
    resp->NodeId = -1;
    resp->Host = sl_str_c("");
    resp->Port = -1;
    if (req->hdr.api_version >= 4) {
        resp->Coordinators.count = fr->CoordinatorKeys.count;
        resp->Coordinators.items = sl_arena_array(&req->arena, (size_t)fr->CoordinatorKeys.count + 1,
                                                  sizeof(*resp->Coordinators.items));
        for (int32_t i = 0; i < fr->CoordinatorKeys.count; i++) {
            resp->Coordinators.items[i].Key = fr->CoordinatorKeys.items[i];
            resp->Coordinators.items[i].NodeId = -1;
            resp->Coordinators.items[i].Host = sl_str_c("");
            resp->Coordinators.items[i].Port = -1;
            resp->Coordinators.items[i].ErrorCode = PROTOCOL_ERR_COORDINATOR_NOT_AVAILABLE;
        }
    }
    broker_respond(req, resp);
    return BROKER_DONE;
}
