/* broker_api.c — the table of Kafka APIs this broker serves, version checks, dispatch,
 * and ApiVersions.
 *
 * Only APIs that are really implemented are advertised; clients take the advertised
 * ranges at face value. The ranges keep what the target clients' feature gates need
 * (reference API-PLAN §3): Produce 3 and Fetch 4 (magic 2), FindCoordinator 0 (groups,
 * lz4 in librdkafka), Produce 7 / Fetch 10 (zstd), ListOffsets 1 (offsets_for_times),
 * and Fetch up to 11+ so kafka-python infers a ≥ 2.3 broker. */
#include "broker/broker_int.h"
#include "common/sl_log.h"

#include <string.h>

enum {
    API_PRODUCE = 0,
    API_FETCH = 1,
    API_LIST_OFFSETS = 2,
    API_METADATA = 3,
    API_OFFSET_COMMIT = 8,
    API_OFFSET_FETCH = 9,
    API_FIND_COORDINATOR = 10,
    API_JOIN_GROUP = 11,
    API_HEARTBEAT = 12,
    API_LEAVE_GROUP = 13,
    API_SYNC_GROUP = 14,
    API_DESCRIBE_GROUPS = 15,
    API_LIST_GROUPS = 16,
    API_API_VERSIONS = 18,
    API_CREATE_TOPICS = 19,
    API_DELETE_TOPICS = 20,
    API_DELETE_RECORDS = 21,
    API_INIT_PRODUCER_ID = 22,
    API_OFFSET_FOR_LEADER_EPOCH = 23,
    API_DESCRIBE_CONFIGS = 32,
    API_ALTER_CONFIGS = 33,
    API_DESCRIBE_LOG_DIRS = 35,
    API_CREATE_PARTITIONS = 37,
    API_DELETE_GROUPS = 42,
    API_ELECT_LEADERS = 43,
    API_INCREMENTAL_ALTER_CONFIGS = 44,
    API_ALTER_PARTITION_REASSIGNMENTS = 45,
    API_LIST_PARTITION_REASSIGNMENTS = 46,
    API_OFFSET_DELETE = 47,
    API_DESCRIBE_QUORUM = 55,
    API_DESCRIBE_CLUSTER = 60,
};

/* Sorted by key. */
static const broker_api_entry api_table[] = {
    /* Produce from v0: librdkafka compresses with gzip, snappy and lz4 only when the range
     * includes v0; clients that really send v0-v2 (magic 0/1 message sets) get
     * UNSUPPORTED_FOR_MESSAGE_FORMAT, since sluice stores magic 2 only. */
    { API_PRODUCE, 0, 9, broker_handle_produce },
    { API_FETCH, 4, 12, broker_handle_fetch },
    { API_LIST_OFFSETS, 0, 7, broker_handle_list_offsets },
    { API_METADATA, 0, 12, broker_handle_metadata },
    { API_OFFSET_COMMIT, 0, 8, broker_handle_offset_commit },
    { API_OFFSET_FETCH, 1, 8, broker_handle_offset_fetch },
    { API_FIND_COORDINATOR, 0, 4, broker_handle_find_coordinator },
    { API_JOIN_GROUP, 0, 9, broker_handle_join_group },
    { API_HEARTBEAT, 0, 4, broker_handle_heartbeat },
    { API_LEAVE_GROUP, 0, 5, broker_handle_leave_group },
    { API_SYNC_GROUP, 0, 5, broker_handle_sync_group },
    { API_DESCRIBE_GROUPS, 0, 5, broker_handle_describe_groups },
    { API_LIST_GROUPS, 0, 4, broker_handle_list_groups },
    { API_API_VERSIONS, 0, 4, broker_handle_api_versions },
    { API_CREATE_TOPICS, 0, 7, broker_handle_forward },
    { API_DELETE_TOPICS, 0, 6, broker_handle_forward },
    { API_DELETE_RECORDS, 0, 2, broker_handle_delete_records },
    { API_INIT_PRODUCER_ID, 0, 4, broker_handle_init_producer_id },
    { API_OFFSET_FOR_LEADER_EPOCH, 0, 4, broker_handle_offset_for_leader_epoch },
    { API_DESCRIBE_CONFIGS, 0, 4, broker_handle_describe_configs },
    { API_ALTER_CONFIGS, 0, 2, broker_handle_forward },
    { API_DESCRIBE_LOG_DIRS, 0, 4, broker_handle_describe_log_dirs },
    { API_CREATE_PARTITIONS, 0, 3, broker_handle_forward },
    { API_DELETE_GROUPS, 0, 2, broker_handle_delete_groups },
    { API_ELECT_LEADERS, 0, 2, broker_handle_forward },
    { API_INCREMENTAL_ALTER_CONFIGS, 0, 1, broker_handle_forward },
    { API_ALTER_PARTITION_REASSIGNMENTS, 0, 0, broker_handle_forward },
    { API_LIST_PARTITION_REASSIGNMENTS, 0, 0, broker_handle_forward },
    { API_OFFSET_DELETE, 0, 0, broker_handle_offset_delete },
    { API_DESCRIBE_QUORUM, 0, 2, broker_handle_forward },
    { API_DESCRIBE_CLUSTER, 0, 1, broker_handle_describe_cluster },
};

#define API_TABLE_COUNT (sizeof(api_table) / sizeof(api_table[0]))

const broker_api_entry *broker_api_lookup(int16_t key) {
    for (size_t i = 0; i < API_TABLE_COUNT; i++) {
        if (api_table[i].key == key) return &api_table[i];
    }
    return NULL;
}

/* Every advertised API, sorted by key, into resp's ApiKeys. */
static void fill_api_keys(broker_request *req, protocol_ApiVersionsResponse *resp) {
    size_t total = API_TABLE_COUNT;
    protocol_ApiVersionsResponse_ApiVersion *items =
        sl_arena_array(&req->arena, total, sizeof(*items));
    int32_t n = 0;
    for (int16_t key = 0; key < 256 && (size_t)n < total; key++) {
        const broker_api_entry *e = broker_api_lookup(key);
        if (!e) continue;
        items[n].ApiKey = e->key;
        items[n].MinVersion = e->min_version;
        items[n].MaxVersion = e->max_version;
        n++;
    }
    resp->ApiKeys.items = items;
    resp->ApiKeys.count = n;
}

broker_handled broker_handle_api_versions(broker_request *req) {
    const broker_api_entry *self = broker_api_lookup(API_API_VERSIONS);
    protocol_ApiVersionsResponse *resp = broker_response_new(req);
    fill_api_keys(req, resp);
    if (req->hdr.api_version > self->max_version) {
        /* KIP-511: answer an unknown version in v0 (header v0) with UNSUPPORTED_VERSION
         * and our ranges, so the client retries with a version we speak. */
        resp->ErrorCode = PROTOCOL_ERR_UNSUPPORTED_VERSION;
        req->hdr.api_version = 0;
        broker_respond(req, resp);
        return BROKER_DONE;
    }
    if (!broker_request_decode(req)) {
        resp->ErrorCode = PROTOCOL_ERR_INVALID_REQUEST;
    }
    broker_respond(req, resp);
    return BROKER_DONE;
}

broker_handled broker_api_dispatch(broker_request *req) {
    const broker_api_entry *e = broker_api_lookup(req->hdr.api_key);
    if (req->hdr.api_key == API_API_VERSIONS && req->api) return broker_handle_api_versions(req);
    if (!e || !req->api) {
        SL_LOG(SL_WARN, "net", "unknown_api", "peer=%s api_key=%d", req->conn->io.peer,
               req->hdr.api_key);
        return BROKER_CLOSE;
    }
    if (req->hdr.api_version < e->min_version || req->hdr.api_version > e->max_version) {
        /* Kafka closes the connection on an unsupported version of any API but ApiVersions */
        SL_LOG(SL_WARN, "net", "unsupported_version", "peer=%s api=%s version=%d min=%d max=%d",
               req->conn->io.peer, req->api->name, req->hdr.api_version, e->min_version,
               e->max_version);
        return BROKER_CLOSE;
    }
    return e->handler(req);
}
