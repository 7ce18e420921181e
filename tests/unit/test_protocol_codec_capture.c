/* Unit tests: request frames captured from real clients (kcat / librdkafka 2.0.2,
 * confluent-kafka-python 1.7.0, kafka-python 2.0.2) decode to the right contents and
 * re-encode to the very same bytes. The frames are committed under tests/unit/vectors/
 * (README.md there says how tests/capture/ recorded them); each holds one request
 * without its int32 size prefix. Run from the repository root, or point SL_VECTORS_DIR
 * at the directory. */
#include "common/sl_arena.h"
#include "common/sl_buf.h"
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Suite *protocol_codec_capture_suite(void);

#define VECTOR_BYTES_MAX 65536 /* every capture is a few hundred bytes */

typedef struct capture {
    uint8_t data[VECTOR_BYTES_MAX];
    size_t len;
    sl_arena arena;
    protocol_request_header h;
    void *body; /* the decoded request, allocated from arena */
} capture;

static capture cap; /* one per test; the test process is forked per test */

static void capture_load(const char *name) {
    const char *dir = getenv("SL_VECTORS_DIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.bin", dir ? dir : "tests/unit/vectors", name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (run from the repository root)", path);
    cap.len = fread(cap.data, 1, sizeof(cap.data), f);
    ck_assert(!ferror(f));
    ck_assert_uint_lt(cap.len, sizeof(cap.data));
    fclose(f);
}

/* Load, decode header and body, check nothing is left over, and check that encoding the
 * decoded request gives back the captured bytes. */
static void *capture_decode(const char *name, int16_t api_key, int16_t api_version) {
    capture_load(name);
    sl_arena_init(&cap.arena);
    sl_reader r;
    sl_reader_init(&r, cap.data, cap.len);
    ck_assert_int_eq(protocol_request_header_decode(&r, &cap.h), SL_OK);
    ck_assert_int_eq(cap.h.api_key, api_key);
    ck_assert_int_eq(cap.h.api_version, api_version);
    const protocol_api *api = protocol_api_find(api_key);
    ck_assert_ptr_nonnull(api);
    cap.body = sl_arena_alloc(&cap.arena, api->request_size);
    int rc = api->request_decode(&r, api_version, &cap.arena, cap.body);
    ck_assert_msg(rc == SL_OK, "%s: %s", name, sl_strerror(rc));
    ck_assert_msg(sl_reader_remaining(&r) == 0, "%s: %zu bytes left", name,
                  sl_reader_remaining(&r));

    sl_buf out;
    sl_buf_init(&out);
    protocol_request_header_encode(&out, &cap.h);
    api->request_encode(&out, api_version, cap.body);
    ck_assert_msg(out.len == cap.len && memcmp(out.data, cap.data, cap.len) == 0,
                  "%s: re-encoding differs from the capture", name);
    sl_buf_deinit(&out);
    return cap.body;
}

static void capture_teardown(void) {
    sl_arena_deinit(&cap.arena);
}

static const struct {
    const char *name;
    int16_t api_key;
    int16_t api_version;
    const char *client_id;
} all_captures[] = {
    { "kcat_apiversions_v3", 18, 3, "rdkafka" },
    { "kcat_metadata_v4", 3, 4, "rdkafka" },
    { "kcat_produce_v7", 0, 7, "rdkafka" },
    { "kcat_fetch_v11", 1, 11, "rdkafka" },
    { "kcat_listoffsets_v2", 2, 2, "rdkafka" },
    { "kcat_findcoordinator_v2", 10, 2, "rdkafka" },
    { "kcat_joingroup_v5", 11, 5, "rdkafka" },
    { "kcat_syncgroup_v3", 14, 3, "rdkafka" },
    { "kcat_heartbeat_v3", 12, 3, "rdkafka" },
    { "kcat_offsetfetch_v7", 9, 7, "rdkafka" },
    { "kcat_leavegroup_v1", 13, 1, "rdkafka" },
    { "confluent_apiversions_v3", 18, 3, "rdkafka" },
    { "confluent_metadata_v4", 3, 4, "rdkafka" },
    { "confluent_produce_v7", 0, 7, "rdkafka" },
    { "confluent_fetch_v11", 1, 11, "rdkafka" },
    { "confluent_listoffsets_v2", 2, 2, "rdkafka" },
    { "confluent_findcoordinator_v2", 10, 2, "rdkafka" },
    { "confluent_joingroup_v5", 11, 5, "rdkafka" },
    { "confluent_syncgroup_v3", 14, 3, "rdkafka" },
    { "confluent_heartbeat_v3", 12, 3, "rdkafka" },
    { "confluent_offsetfetch_v7", 9, 7, "rdkafka" },
    { "confluent_leavegroup_v1", 13, 1, "rdkafka" },
    { "kafkapython_apiversions_v0", 18, 0, "kafka-python-producer-1" },
    { "kafkapython_metadata_v0", 3, 0, "kafka-python-producer-1" },
    { "kafkapython_metadata_v1", 3, 1, "kafka-python-producer-1" },
    { "kafkapython_produce_v7", 0, 7, "kafka-python-producer-1" },
    { "kafkapython_fetch_v4", 1, 4, "kafka-python-2.0.2" },
    { "kafkapython_listoffsets_v1", 2, 1, "kafka-python-2.0.2" },
    { "kafkapython_findcoordinator_v0", 10, 0, "kafka-python-2.0.2" },
    { "kafkapython_joingroup_v2", 11, 2, "kafka-python-2.0.2" },
    { "kafkapython_syncgroup_v1", 14, 1, "kafka-python-2.0.2" },
    { "kafkapython_heartbeat_v1", 12, 1, "kafka-python-2.0.2" },
    { "kafkapython_offsetfetch_v1", 9, 1, "kafka-python-2.0.2" },
    { "kafkapython_offsetcommit_v2", 8, 2, "kafka-python-2.0.2" },
    { "kafkapython_leavegroup_v1", 13, 1, "kafka-python-2.0.2" },
};

START_TEST(test_capture_decodes_and_reencodes_identically) {
    capture_decode(all_captures[_i].name, all_captures[_i].api_key, all_captures[_i].api_version);
    ck_assert_msg(sl_str_eq_c(cap.h.client_id, all_captures[_i].client_id), "%s: client id",
                  all_captures[_i].name);
    /* every strict prefix is an error, never a crash */
    sl_arena arena;
    sl_arena_init(&arena);
    const protocol_api *api = protocol_api_find(cap.h.api_key);
    void *msg = sl_arena_alloc(&arena, api->request_size);
    for (size_t cut = 0; cut < cap.len; cut++) {
        sl_reader r;
        sl_reader_init(&r, cap.data, cut);
        protocol_request_header h;
        int rc = protocol_request_header_decode(&r, &h);
        if (rc == SL_OK) rc = api->request_decode(&r, h.api_version, &arena, msg);
        ck_assert_msg(rc == SL_E_SHORT || rc == SL_E_CORRUPT, "%s cut %zu: %s",
                      all_captures[_i].name, cut, sl_strerror(rc));
    }
    sl_arena_deinit(&arena);
}
END_TEST

static void check_produce(const char *name, int16_t acks) {
    protocol_ProduceRequest *req = capture_decode(name, PROTOCOL_API_PRODUCE, 7);
    ck_assert(sl_str_is_null(req->TransactionalId));
    ck_assert_int_eq(req->Acks, acks);
    ck_assert_int_eq(req->TimeoutMs, 30000);
    ck_assert_int_eq(req->TopicData.count, 1);
    ck_assert(sl_str_eq_c(req->TopicData.items[0].Name, "captest"));
    ck_assert_int_eq(req->TopicData.items[0].PartitionData.count, 1);
    const protocol_ProduceRequest_PartitionProduceData *pd =
        &req->TopicData.items[0].PartitionData.items[0];
    ck_assert_int_eq(pd->Index, 0);
    /* the record bytes are a view into the captured frame, and a valid v2 batch */
    ck_assert(pd->Records.ptr > cap.data && pd->Records.ptr < cap.data + cap.len);
    protocol_batch_header bh;
    ck_assert_int_eq(protocol_batch_check(pd->Records.ptr, (size_t)pd->Records.len, &bh), SL_OK);
    ck_assert_int_eq(bh.magic, 2);
    ck_assert_int_eq(bh.record_count, 1);
    ck_assert_int_eq(bh.last_offset_delta, 0);
    ck_assert(bh.producer_id == -1);
    ck_assert_uint_eq((size_t)pd->Records.len, 12 + (size_t)bh.batch_length);
    /* the one record holds key "k1" and value "hello" */
    ck_assert_ptr_nonnull(memmem(pd->Records.ptr, (size_t)pd->Records.len, "k1", 2));
    ck_assert_ptr_nonnull(memmem(pd->Records.ptr, (size_t)pd->Records.len, "hello", 5));
}

START_TEST(test_produce_from_each_client) {
    check_produce("kcat_produce_v7", -1); /* librdkafka: acks=all */
    capture_teardown();
    check_produce("confluent_produce_v7", -1);
    capture_teardown();
    check_produce("kafkapython_produce_v7", 1); /* kafka-python: acks=1 */
}
END_TEST

START_TEST(test_api_versions_requests) {
    protocol_ApiVersionsRequest *req =
        capture_decode("kcat_apiversions_v3", PROTOCOL_API_API_VERSIONS, 3);
    ck_assert_int_eq(protocol_request_header_version(18, 3), 2);
    ck_assert(sl_str_eq_c(req->ClientSoftwareName, "librdkafka"));
    ck_assert(sl_str_eq_c(req->ClientSoftwareVersion, "2.0.2"));
    capture_teardown();
    req = capture_decode("confluent_apiversions_v3", PROTOCOL_API_API_VERSIONS, 3);
    ck_assert(sl_str_eq_c(req->ClientSoftwareName, "confluent-kafka-python"));
    ck_assert(sl_str_eq_c(req->ClientSoftwareVersion, "1.7.0-rdkafka-2.0.2"));
    capture_teardown();
    capture_decode("kafkapython_apiversions_v0", PROTOCOL_API_API_VERSIONS, 0);
    ck_assert_uint_eq(cap.len, 10 + strlen("kafka-python-producer-1")); /* empty body */
}
END_TEST

START_TEST(test_metadata_requests) {
    protocol_MetadataRequest *req = capture_decode("kcat_metadata_v4", PROTOCOL_API_METADATA, 4);
    ck_assert_int_ge(req->Topics.count, 0);
    for (int32_t i = 0; i < req->Topics.count; i++) {
        ck_assert(sl_str_eq_c(req->Topics.items[i].Name, "captest"));
    }
    capture_teardown();
    /* kafka-python's client asks for all topics with a null array in v1 */
    req = capture_decode("kafkapython_metadata_v1", PROTOCOL_API_METADATA, 1);
    ck_assert_int_eq(req->Topics.count, -1);
    capture_teardown();
    req = capture_decode("kafkapython_metadata_v0", PROTOCOL_API_METADATA, 0);
    ck_assert_int_ge(req->Topics.count, 0);
}
END_TEST

START_TEST(test_fetch_requests) {
    protocol_FetchRequest *req = capture_decode("kcat_fetch_v11", PROTOCOL_API_FETCH, 11);
    ck_assert_int_eq(req->ReplicaId, -1);
    ck_assert_int_eq(req->IsolationLevel, 1); /* librdkafka defaults to read_committed */
    ck_assert_int_eq(req->SessionId, 0);      /* no fetch session */
    ck_assert_int_eq(req->SessionEpoch, -1);
    ck_assert_int_eq(req->Topics.count, 1);
    ck_assert(sl_str_eq_c(req->Topics.items[0].Topic, "captest"));
    ck_assert_int_eq(req->Topics.items[0].Partitions.count, 1);
    ck_assert_int_eq(req->Topics.items[0].Partitions.items[0].Partition, 0);
    ck_assert(req->Topics.items[0].Partitions.items[0].FetchOffset == 0);
    ck_assert_int_eq(req->ForgottenTopicsData.count, 0);
    ck_assert(sl_str_eq_c(req->RackId, ""));
    capture_teardown();
    req = capture_decode("kafkapython_fetch_v4", PROTOCOL_API_FETCH, 4);
    ck_assert_int_eq(req->Topics.count, 1);
    ck_assert(sl_str_eq_c(req->Topics.items[0].Topic, "captest"));
    ck_assert(req->Topics.items[0].Partitions.items[0].FetchOffset == 0);
    ck_assert_int_eq(req->SessionEpoch, -1); /* absent before v7: the default */
}
END_TEST

START_TEST(test_find_coordinator_requests) {
    protocol_FindCoordinatorRequest *req =
        capture_decode("kcat_findcoordinator_v2", PROTOCOL_API_FIND_COORDINATOR, 2);
    ck_assert(sl_str_eq_c(req->Key, "capgroup"));
    ck_assert_int_eq(req->KeyType, 0); /* group */
    capture_teardown();
    req = capture_decode("kafkapython_findcoordinator_v0", PROTOCOL_API_FIND_COORDINATOR, 0);
    ck_assert(sl_str_eq_c(req->Key, "capgroup"));
}
END_TEST

/* The JoinGroup protocol metadata is a ConsumerProtocolSubscription: int16 version, body. */
static void check_subscription(sl_bytes metadata) {
    sl_reader r;
    sl_reader_init(&r, metadata.ptr, (size_t)metadata.len);
    int16_t version = sl_reader_i16(&r);
    protocol_ConsumerProtocolSubscription sub;
    ck_assert_int_eq(protocol_ConsumerProtocolSubscription_decode(&r, version, &cap.arena, &sub),
                     SL_OK);
    ck_assert_uint_eq(sl_reader_remaining(&r), 0);
    ck_assert_int_eq(sub.Topics.count, 1);
    ck_assert(sl_str_eq_c(sub.Topics.items[0], "captest"));
}

START_TEST(test_join_group_requests) {
    protocol_JoinGroupRequest *req =
        capture_decode("kcat_joingroup_v5", PROTOCOL_API_JOIN_GROUP, 5);
    ck_assert(sl_str_eq_c(req->GroupId, "capgroup"));
    ck_assert(sl_str_eq_c(req->MemberId, "")); /* first join */
    ck_assert(sl_str_is_null(req->GroupInstanceId));
    ck_assert(sl_str_eq_c(req->ProtocolType, "consumer"));
    ck_assert_int_eq(req->SessionTimeoutMs, 45000);
    ck_assert_int_eq(req->RebalanceTimeoutMs, 300000);
    ck_assert_int_eq(req->Protocols.count, 2);
    ck_assert(sl_str_eq_c(req->Protocols.items[0].Name, "range"));
    ck_assert(sl_str_eq_c(req->Protocols.items[1].Name, "roundrobin"));
    check_subscription(req->Protocols.items[0].Metadata);
    capture_teardown();
    req = capture_decode("kafkapython_joingroup_v2", PROTOCOL_API_JOIN_GROUP, 2);
    ck_assert(sl_str_eq_c(req->GroupId, "capgroup"));
    ck_assert_int_eq(req->SessionTimeoutMs, 10000);
    ck_assert(sl_str_eq_c(req->Protocols.items[0].Name, "range"));
    check_subscription(req->Protocols.items[0].Metadata);
}
END_TEST

START_TEST(test_group_follow_up_requests) {
    protocol_SyncGroupRequest *sync =
        capture_decode("kcat_syncgroup_v3", PROTOCOL_API_SYNC_GROUP, 3);
    ck_assert(sl_str_eq_c(sync->GroupId, "capgroup"));
    ck_assert_int_eq(sync->GenerationId, 1);
    ck_assert(sl_str_eq_c(sync->MemberId, "member-1")); /* as the fake broker assigned */
    ck_assert_int_eq(sync->Assignments.count, 0);       /* a follower sends none */
    capture_teardown();
    /* OffsetFetch v7 is flexible: compact strings and arrays, tagged sections */
    protocol_OffsetFetchRequest *of =
        capture_decode("kcat_offsetfetch_v7", PROTOCOL_API_OFFSET_FETCH, 7);
    ck_assert(sl_str_eq_c(of->GroupId, "capgroup"));
    ck_assert_int_eq(of->Topics.count, 1);
    ck_assert(sl_str_eq_c(of->Topics.items[0].Name, "captest"));
    ck_assert_int_eq(of->Topics.items[0].PartitionIndexes.count, 1);
    ck_assert_int_eq(of->Topics.items[0].PartitionIndexes.items[0], 0);
    ck_assert(of->RequireStable); /* read_committed */
    capture_teardown();
    protocol_OffsetCommitRequest *oc =
        capture_decode("kafkapython_offsetcommit_v2", PROTOCOL_API_OFFSET_COMMIT, 2);
    ck_assert(sl_str_eq_c(oc->GroupId, "capgroup"));
    ck_assert(oc->RetentionTimeMs == -1); /* broker default */
    ck_assert_int_eq(oc->Topics.count, 1);
    ck_assert(sl_str_eq_c(oc->Topics.items[0].Name, "captest"));
}
END_TEST

Suite *protocol_codec_capture_suite(void) {
    Suite *s = suite_create("protocol_codec_capture");
    TCase *tc = tcase_create("all");
    tcase_add_checked_fixture(tc, NULL, capture_teardown);
    tcase_add_loop_test(tc, test_capture_decodes_and_reencodes_identically, 0,
                        (int)(sizeof(all_captures) / sizeof(all_captures[0])));
    suite_add_tcase(s, tc);

    tc = tcase_create("contents");
    tcase_add_checked_fixture(tc, NULL, capture_teardown);
    tcase_add_test(tc, test_produce_from_each_client);
    tcase_add_test(tc, test_api_versions_requests);
    tcase_add_test(tc, test_metadata_requests);
    tcase_add_test(tc, test_fetch_requests);
    tcase_add_test(tc, test_find_coordinator_requests);
    tcase_add_test(tc, test_join_group_requests);
    tcase_add_test(tc, test_group_follow_up_requests);
    suite_add_tcase(s, tc);
    return s;
}
