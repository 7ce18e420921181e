/* Unit tests for the Raft drivers' encodings (raft/raft_wire.c, raft/raft_store.c):
 * every raft_msg type round trips through raft.proto, malformed and out-of-range
 * payloads are refused, the Hello, the quorum-state file (round trip; torn, garbage,
 * foreign files refused), snapshot checkpoint files (newest valid one wins, damaged
 * ones are skipped, pruning), and entries as RecordBatches. */
#include "raft/raft.h"
#include "raft/raft.pb-c.h"
#include "raft/raft_driver_int.h"

#include "common/sl_alloc.h"
#include "common/sl_buf.h"
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

Suite *raft_wire_suite(void);

/* ------------------------------------------------------------------ messages */

static const uint8_t k_data_a[] = "alpha";
static const uint8_t k_data_b[] = "a longer payload for the second entry";
static const raft_entry k_entries[] = {
    { .offset = 41, .epoch = 3, .kind = RAFT_ENTRY_DATA, .size = 5, .data = k_data_a },
    { .offset = 42, .epoch = 4, .kind = RAFT_ENTRY_LEADER_CHANGE, .size = 0, .data = NULL },
    { .offset = 43,
      .epoch = 4,
      .kind = RAFT_ENTRY_DATA,
      .size = sizeof(k_data_b) - 1,
      .data = k_data_b },
};
static const uint8_t k_chunk[] = { 0, 1, 2, 3, 0xff, 0xfe };

/* A message of each type with every field away from its default. */
static raft_msg sample_msg(raft_msg_type type) {
    raft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.from = 7;
    m.to = 2;
    m.epoch = 9;
    m.req_id = 0xfffffff0u;
    m.leader_id = type == RAFT_MSG_VOTE_REQUEST ? RAFT_NODE_NONE : 3;
    bool response = type % 2 == 0;
    if (response) m.error = RAFT_ERR_FENCED_LEADER_EPOCH;
    switch (type) {
    case RAFT_MSG_VOTE_REQUEST:
        m.vote = (raft_vote_request){ .last_epoch = 8,
                                      .last_offset = 1234567890123LL,
                                      .pre_vote = true };
        break;
    case RAFT_MSG_VOTE_RESPONSE:
        m.vote_resp = (raft_vote_response){ .granted = true, .pre_vote = true };
        break;
    case RAFT_MSG_END_EPOCH_REQUEST:
        m.end_epoch.successor_count = 3;
        m.end_epoch.successors[0] = 5;
        m.end_epoch.successors[1] = 1;
        m.end_epoch.successors[2] = 2;
        break;
    case RAFT_MSG_FETCH_REQUEST:
        m.fetch = (raft_fetch_request){
            .fetch_offset = 44, .last_fetched_epoch = 4, .high_watermark = -1, .max_wait_ms = 500
        };
        break;
    case RAFT_MSG_FETCH_RESPONSE:
        m.fetch_resp = (raft_fetch_response){ .high_watermark = 40,
                                              .log_start_offset = 10,
                                              .diverging_epoch = 2,
                                              .diverging_end_offset = 30,
                                              .snapshot_id = { 10, 1 },
                                              .fetch_offset = 41,
                                              .last_fetched_epoch = 3,
                                              .entries = k_entries,
                                              .entry_count = 3 };
        break;
    case RAFT_MSG_FETCH_SNAPSHOT_REQUEST:
        m.snap = (raft_fetch_snapshot_request){ .snapshot_id = { 100, 6 }, .position = 65536 };
        break;
    case RAFT_MSG_FETCH_SNAPSHOT_RESPONSE:
        m.snap_resp = (raft_fetch_snapshot_response){ .snapshot_id = { 100, 6 },
                                                      .size = 70000,
                                                      .position = 65536,
                                                      .data = k_chunk,
                                                      .data_size = sizeof(k_chunk) };
        break;
    default:
        break;
    }
    return m;
}

static void assert_entries_eq(const raft_entry *a, const raft_entry *b, int32_t count) {
    for (int32_t i = 0; i < count; i++) {
        ck_assert_int_eq(a[i].offset, b[i].offset);
        ck_assert_int_eq(a[i].epoch, b[i].epoch);
        ck_assert_int_eq(a[i].kind, b[i].kind);
        ck_assert_uint_eq(a[i].size, b[i].size);
        if (a[i].size) ck_assert_mem_eq(a[i].data, b[i].data, a[i].size);
    }
}

static void assert_msg_eq(const raft_msg *a, const raft_msg *b) {
    ck_assert_int_eq(a->type, b->type);
    ck_assert_int_eq(a->from, b->from);
    ck_assert_int_eq(a->to, b->to);
    ck_assert_int_eq(a->epoch, b->epoch);
    ck_assert_uint_eq(a->req_id, b->req_id);
    ck_assert_int_eq(a->error, b->error);
    ck_assert_int_eq(a->leader_id, b->leader_id);
    switch (a->type) {
    case RAFT_MSG_VOTE_REQUEST:
        ck_assert_int_eq(a->vote.last_epoch, b->vote.last_epoch);
        ck_assert_int_eq(a->vote.last_offset, b->vote.last_offset);
        ck_assert_int_eq(a->vote.pre_vote, b->vote.pre_vote);
        break;
    case RAFT_MSG_VOTE_RESPONSE:
        ck_assert_int_eq(a->vote_resp.granted, b->vote_resp.granted);
        ck_assert_int_eq(a->vote_resp.pre_vote, b->vote_resp.pre_vote);
        break;
    case RAFT_MSG_END_EPOCH_REQUEST:
        ck_assert_int_eq(a->end_epoch.successor_count, b->end_epoch.successor_count);
        ck_assert_mem_eq(a->end_epoch.successors, b->end_epoch.successors,
                         (size_t)a->end_epoch.successor_count * sizeof(int32_t));
        break;
    case RAFT_MSG_FETCH_REQUEST:
        ck_assert_mem_eq(&a->fetch, &b->fetch, sizeof(a->fetch));
        break;
    case RAFT_MSG_FETCH_RESPONSE: {
        const raft_fetch_response *x = &a->fetch_resp, *y = &b->fetch_resp;
        ck_assert_int_eq(x->high_watermark, y->high_watermark);
        ck_assert_int_eq(x->log_start_offset, y->log_start_offset);
        ck_assert_int_eq(x->diverging_epoch, y->diverging_epoch);
        ck_assert_int_eq(x->diverging_end_offset, y->diverging_end_offset);
        ck_assert_int_eq(x->snapshot_id.end_offset, y->snapshot_id.end_offset);
        ck_assert_int_eq(x->snapshot_id.epoch, y->snapshot_id.epoch);
        ck_assert_int_eq(x->fetch_offset, y->fetch_offset);
        ck_assert_int_eq(x->last_fetched_epoch, y->last_fetched_epoch);
        ck_assert_int_eq(x->entry_count, y->entry_count);
        assert_entries_eq(x->entries, y->entries, x->entry_count);
        break;
    }
    case RAFT_MSG_FETCH_SNAPSHOT_REQUEST:
        ck_assert_int_eq(a->snap.snapshot_id.end_offset, b->snap.snapshot_id.end_offset);
        ck_assert_int_eq(a->snap.snapshot_id.epoch, b->snap.snapshot_id.epoch);
        ck_assert_int_eq(a->snap.position, b->snap.position);
        break;
    case RAFT_MSG_FETCH_SNAPSHOT_RESPONSE: {
        const raft_fetch_snapshot_response *x = &a->snap_resp, *y = &b->snap_resp;
        ck_assert_int_eq(x->snapshot_id.end_offset, y->snapshot_id.end_offset);
        ck_assert_int_eq(x->snapshot_id.epoch, y->snapshot_id.epoch);
        ck_assert_int_eq(x->size, y->size);
        ck_assert_int_eq(x->position, y->position);
        ck_assert_uint_eq(x->data_size, y->data_size);
        ck_assert_mem_eq(x->data, y->data, x->data_size);
        break;
    }
    default:
        break;
    }
}

/* Loop test over the ten message types. */
START_TEST(test_every_message_type_round_trips) {
    raft_msg_type type = (raft_msg_type)(_i + 1);
    raft_msg m = sample_msg(type);
    sl_buf buf;
    sl_buf_init(&buf);
    ck_assert_int_eq(raft_wire_encode(&m, &buf), SL_OK);
    raft_wire_msg got;
    ck_assert_int_eq(raft_wire_decode((uint16_t)type, 7, buf.data, buf.len, &got), SL_OK);
    assert_msg_eq(&m, &got.msg);
    raft_wire_msg_free(&got);
    /* `from` comes from the connection, never from the payload */
    ck_assert_int_eq(raft_wire_decode((uint16_t)type, 11, buf.data, buf.len, &got), SL_OK);
    ck_assert_int_eq(got.msg.from, 11);
    raft_wire_msg_free(&got);
    /* cut at every length: refused, or (at a field boundary after the required fields)
     * decoded without reading past the cut; never a crash */
    for (size_t cut = 0; cut < buf.len; cut++) {
        int rc = raft_wire_decode((uint16_t)type, 7, buf.data, cut, &got);
        ck_assert(rc == SL_OK || rc == SL_E_CORRUPT);
        if (rc == SL_OK) raft_wire_msg_free(&got);
    }
    /* the empty payload lacks the required fields */
    ck_assert_int_eq(raft_wire_decode((uint16_t)type, 7, buf.data, 0, &got), SL_E_CORRUPT);
    sl_buf_deinit(&buf);
}
END_TEST

START_TEST(test_defaults_round_trip) {
    /* a fetch response without entries or divergence keeps -1 where raft.h says so */
    raft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_FETCH_RESPONSE;
    m.to = 1;
    m.leader_id = RAFT_NODE_NONE;
    m.fetch_resp.diverging_epoch = -1;
    m.fetch_resp.diverging_end_offset = -1;
    m.fetch_resp.high_watermark = 0;
    sl_buf buf;
    sl_buf_init(&buf);
    ck_assert_int_eq(raft_wire_encode(&m, &buf), SL_OK);
    raft_wire_msg got;
    ck_assert_int_eq(raft_wire_decode(RAFT_MSG_FETCH_RESPONSE, 2, buf.data, buf.len, &got), SL_OK);
    m.from = 2;
    assert_msg_eq(&m, &got.msg);
    ck_assert_ptr_null(got.msg.fetch_resp.entries);
    raft_wire_msg_free(&got);
    sl_buf_deinit(&buf);
}
END_TEST

START_TEST(test_unknown_type_and_garbage_refused) {
    static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x08 };
    raft_wire_msg got;
    ck_assert_int_eq(raft_wire_decode(0, 1, garbage, sizeof(garbage), &got), SL_E_INVALID);
    ck_assert_int_eq(raft_wire_decode(11, 1, garbage, sizeof(garbage), &got), SL_E_INVALID);
    ck_assert_int_eq(raft_wire_decode(RAFT_NET_TYPE_HELLO, 1, garbage, sizeof(garbage), &got),
                     SL_E_INVALID);
    for (uint16_t type = 1; type <= 10; type++) {
        ck_assert_int_eq(raft_wire_decode(type, 1, garbage, sizeof(garbage), &got), SL_E_CORRUPT);
    }
    raft_msg m = sample_msg(RAFT_MSG_VOTE_REQUEST);
    m.type = (raft_msg_type)42;
    sl_buf buf;
    sl_buf_init(&buf);
    ck_assert_int_eq(raft_wire_encode(&m, &buf), SL_E_INVALID);
    sl_buf_deinit(&buf);
}
END_TEST

static void pack_pb(const ProtobufCMessage *pb, sl_buf *out) {
    sl_buf_reset(out);
    size_t size = protobuf_c_message_get_packed_size(pb);
    protobuf_c_message_pack(pb, sl_buf_reserve(out, size));
}

/* Values a raft_msg cannot hold are refused rather than truncated. */
START_TEST(test_out_of_range_fields_refused) {
    sl_buf buf;
    sl_buf_init(&buf);
    raft_wire_msg got;
    Rf__VoteResponse vr = RF__VOTE_RESPONSE__INIT;
    vr.has_error = true;
    vr.error = 70000; /* does not fit int16 */
    pack_pb(&vr.base, &buf);
    ck_assert_int_eq(raft_wire_decode(RAFT_MSG_VOTE_RESPONSE, 1, buf.data, buf.len, &got),
                     SL_E_CORRUPT);

    Rf__Entry e = RF__ENTRY__INIT;
    e.offset = 0;
    e.epoch = 1;
    e.has_kind = true;
    e.kind = 7; /* no such entry kind */
    Rf__Entry *ep = &e;
    Rf__FetchResponse fr = RF__FETCH_RESPONSE__INIT;
    fr.n_entries = 1;
    fr.entries = &ep;
    pack_pb(&fr.base, &buf);
    ck_assert_int_eq(raft_wire_decode(RAFT_MSG_FETCH_RESPONSE, 1, buf.data, buf.len, &got),
                     SL_E_CORRUPT);
    e.kind = RAFT_ENTRY_LEADER_CHANGE;
    pack_pb(&fr.base, &buf);
    ck_assert_int_eq(raft_wire_decode(RAFT_MSG_FETCH_RESPONSE, 1, buf.data, buf.len, &got), SL_OK);
    raft_wire_msg_free(&got);

    /* more entries than one response may carry */
    size_t n = RAFT_FETCH_ENTRIES_MAX + 1;
    Rf__Entry **many = sl_calloc(n, sizeof(*many));
    for (size_t i = 0; i < n; i++)
        many[i] = &e;
    fr.n_entries = n;
    fr.entries = many;
    pack_pb(&fr.base, &buf);
    ck_assert_int_eq(raft_wire_decode(RAFT_MSG_FETCH_RESPONSE, 1, buf.data, buf.len, &got),
                     SL_E_CORRUPT);
    sl_free(many);

    /* more successors than voters */
    int32_t successors[RAFT_VOTERS_MAX + 1] = { 0 };
    Rf__EndQuorumEpochRequest er = RF__END_QUORUM_EPOCH_REQUEST__INIT;
    er.n_successors = RAFT_VOTERS_MAX + 1;
    er.successors = successors;
    pack_pb(&er.base, &buf);
    ck_assert_int_eq(raft_wire_decode(RAFT_MSG_END_EPOCH_REQUEST, 1, buf.data, buf.len, &got),
                     SL_E_CORRUPT);
    er.n_successors = RAFT_VOTERS_MAX;
    pack_pb(&er.base, &buf);
    ck_assert_int_eq(raft_wire_decode(RAFT_MSG_END_EPOCH_REQUEST, 1, buf.data, buf.len, &got),
                     SL_OK);
    ck_assert_int_eq(got.msg.end_epoch.successor_count, RAFT_VOTERS_MAX);
    raft_wire_msg_free(&got);

    /* a payload of another message type is missing required fields */
    raft_msg m = sample_msg(RAFT_MSG_BEGIN_EPOCH_REQUEST);
    sl_buf_reset(&buf);
    ck_assert_int_eq(raft_wire_encode(&m, &buf), SL_OK);
    ck_assert_int_eq(raft_wire_decode(RAFT_MSG_FETCH_REQUEST, 1, buf.data, buf.len, &got),
                     SL_E_CORRUPT);
    sl_buf_deinit(&buf);
}
END_TEST

START_TEST(test_hello_round_trip_and_refusals) {
    sl_buf buf;
    sl_buf_init(&buf);
    raft_wire_hello_encode(1234, &buf);
    int32_t id = -1;
    ck_assert_int_eq(raft_wire_hello_decode(buf.data, buf.len, &id), SL_OK);
    ck_assert_int_eq(id, 1234);
    Rf__Hello h = RF__HELLO__INIT;
    h.node_id = 5;
    h.version = RAFT_WIRE_VERSION + 1;
    pack_pb(&h.base, &buf);
    ck_assert_int_eq(raft_wire_hello_decode(buf.data, buf.len, &id), SL_E_UNSUPPORTED);
    h.version = RAFT_WIRE_VERSION;
    h.node_id = -3;
    pack_pb(&h.base, &buf);
    ck_assert_int_eq(raft_wire_hello_decode(buf.data, buf.len, &id), SL_E_CORRUPT);
    ck_assert_int_eq(raft_wire_hello_decode(buf.data, 0, &id), SL_E_CORRUPT);
    ck_assert_int_eq(id, 1234);
    sl_buf_deinit(&buf);
}
END_TEST

/* ------------------------------------------------------------------ files */

static char g_dir[256];

static void dir_setup(void) {
    snprintf(g_dir, sizeof(g_dir), "/tmp/sluice-raft-wire-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void dir_teardown(void) {
    DIR *dp = opendir(g_dir);
    if (dp) {
        struct dirent *ent;
        char path[512];
        while ((ent = readdir(dp)) != NULL) {
            if (ent->d_name[0] == '.') continue;
            snprintf(path, sizeof(path), "%s/%s", g_dir, ent->d_name);
            unlink(path);
        }
        closedir(dp);
    }
    rmdir(g_dir);
}

static void write_file(const char *name, const char *text) {
    ck_assert_int_eq(raft_store_write_atomic(g_dir, name, text, strlen(text)), SL_OK);
}

static bool file_exists(const char *name) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    return access(path, F_OK) == 0;
}

static const int32_t k_voters[] = { 1, 2, 3 };

START_TEST(test_quorum_state_round_trip) {
    raft_quorum_state st = { .epoch = 7, .voted_id = 2, .leader_id = 3 }, got;
    ck_assert_int_eq(raft_store_quorum_read(g_dir, k_voters, 3, &got), SL_OK);
    ck_assert_int_eq(got.epoch, 0); /* a new node */
    ck_assert_int_eq(got.voted_id, RAFT_NODE_NONE);
    ck_assert_int_eq(got.leader_id, RAFT_NODE_NONE);
    ck_assert_int_eq(raft_store_quorum_write(g_dir, &st, k_voters, 3), SL_OK);
    ck_assert(!file_exists(RAFT_QUORUM_STATE_FILE ".tmp"));
    int32_t other_order[] = { 3, 1, 2 };
    ck_assert_int_eq(raft_store_quorum_read(g_dir, other_order, 3, &got), SL_OK);
    ck_assert_mem_eq(&got, &st, sizeof(st));
    /* Kafka's shape, byte for byte */
    sl_buf buf;
    sl_buf_init(&buf);
    ck_assert_int_eq(raft_store_read_file(g_dir, RAFT_QUORUM_STATE_FILE, 4096, &buf), SL_OK);
    const char *want = "{\"clusterId\":\"\",\"leaderId\":3,\"leaderEpoch\":7,\"votedId\":2,"
                       "\"appliedOffset\":0,\"currentVoters\":[{\"voterId\":1},{\"voterId\":2},"
                       "{\"voterId\":3}],\"data_version\":0}";
    ck_assert_uint_eq(buf.len, strlen(want));
    ck_assert_mem_eq(buf.data, want, buf.len);
    sl_buf_deinit(&buf);
    /* fields in another order and whitespace, as another writer may produce */
    write_file(RAFT_QUORUM_STATE_FILE, "{ \"data_version\": 0, \"votedId\": -1, \"leaderId\": -1,\n"
                                       "  \"leaderEpoch\": 12, \"appliedOffset\": 0,\n"
                                       "  \"currentVoters\": [{\"voterId\": 2}, {\"voterId\": 1},"
                                       " {\"voterId\": 3}] }");
    ck_assert_int_eq(raft_store_quorum_read(g_dir, k_voters, 3, &got), SL_OK);
    ck_assert_int_eq(got.epoch, 12);
    ck_assert_int_eq(got.voted_id, RAFT_NODE_NONE);
    ck_assert_int_eq(got.leader_id, RAFT_NODE_NONE);
}
END_TEST

/* Files that must refuse the start, each with the error it gets. */
static const struct {
    const char *text;
    int rc;
} k_bad_states[] = {
    { "", SL_E_CORRUPT }, /* empty (torn) */
    { "{\"clusterId\":\"\",\"leaderId\":3,\"leaderEpoch\":7,\"vo", SL_E_CORRUPT }, /* torn */
    { "\x01\x02\x03 not json at all", SL_E_CORRUPT },                              /* garbage */
    { "[1,2,3]", SL_E_CORRUPT }, /* not an object */
    { "{\"leaderId\":1,\"leaderEpoch\":2,\"votedId\":-1,\"appliedOffset\":0,"
      "\"currentVoters\":[{\"voterId\":1},{\"voterId\":2},{\"voterId\":3}]}",
      SL_E_CORRUPT }, /* no data_version */
    { "{\"leaderId\":1,\"votedId\":-1,\"appliedOffset\":0,\"currentVoters\":"
      "[{\"voterId\":1},{\"voterId\":2},{\"voterId\":3}],\"data_version\":0}",
      SL_E_CORRUPT }, /* no leaderEpoch */
    { "{\"leaderId\":1,\"leaderEpoch\":\"2\",\"votedId\":-1,\"appliedOffset\":0,"
      "\"currentVoters\":[{\"voterId\":1},{\"voterId\":2},{\"voterId\":3}],\"data_version\":0}",
      SL_E_CORRUPT }, /* a string epoch */
    { "{\"leaderId\":1,\"leaderEpoch\":-5,\"votedId\":-1,\"appliedOffset\":0,"
      "\"currentVoters\":[{\"voterId\":1},{\"voterId\":2},{\"voterId\":3}],\"data_version\":0}",
      SL_E_CORRUPT }, /* negative epoch */
    { "{\"leaderId\":1,\"leaderEpoch\":4294967296,\"votedId\":-1,\"appliedOffset\":0,"
      "\"currentVoters\":[{\"voterId\":1},{\"voterId\":2},{\"voterId\":3}],\"data_version\":0}",
      SL_E_CORRUPT }, /* beyond int32 */
    { "{\"leaderId\":1,\"leaderEpoch\":2,\"votedId\":-1,\"appliedOffset\":0,"
      "\"currentVoters\":[{\"voterId\":1},{\"voterId\":2},{\"voterId\":3}],\"data_version\":1}",
      SL_E_UNSUPPORTED }, /* a newer format */
    { "{\"leaderId\":1,\"leaderEpoch\":2,\"leaderEpoch\":3,\"votedId\":-1,\"appliedOffset\":0,"
      "\"currentVoters\":[{\"voterId\":1},{\"voterId\":2},{\"voterId\":3}],\"data_version\":0}",
      SL_E_CORRUPT }, /* duplicate key */
    { "{\"leaderId\":1,\"leaderEpoch\":2,\"votedId\":-1,\"appliedOffset\":0,"
      "\"currentVoters\":[{\"voterId\":1},{\"voterId\":2}],\"data_version\":0}",
      SL_E_CONFIG }, /* other voters */
    { "{\"leaderId\":1,\"leaderEpoch\":2,\"votedId\":-1,\"appliedOffset\":0,"
      "\"currentVoters\":[{\"id\":1},{\"voterId\":2},{\"voterId\":3}],\"data_version\":0}",
      SL_E_CORRUPT }, /* bad voter entry */
};

START_TEST(test_quorum_state_bad_files_refused) {
    write_file(RAFT_QUORUM_STATE_FILE, k_bad_states[_i].text);
    raft_quorum_state got = { 99, 99, 99 };
    ck_assert_int_eq(raft_store_quorum_read(g_dir, k_voters, 3, &got), k_bad_states[_i].rc);
    ck_assert_int_eq(got.epoch, 99); /* untouched */
}
END_TEST

START_TEST(test_snapshot_files) {
    char name[RAFT_SNAPSHOT_NAME_BYTES];
    raft_snapshot_id id = { 1234, 5 }, parsed;
    raft_store_snapshot_name(id, name);
    ck_assert_str_eq(name, "00000000000000001234-0000000005.checkpoint");
    ck_assert(raft_store_snapshot_parse_name(name, &parsed));
    ck_assert_int_eq(parsed.end_offset, 1234);
    ck_assert_int_eq(parsed.epoch, 5);
    ck_assert(
        !raft_store_snapshot_parse_name("00000000000000001234-0000000005.checkpoint.tmp", &parsed));
    ck_assert(
        !raft_store_snapshot_parse_name("0000000000000000123x-0000000005.checkpoint", &parsed));
    ck_assert(!raft_store_snapshot_parse_name("00000000000000001234.log", &parsed));

    sl_buf file;
    sl_buf_init(&file);
    const uint8_t *data;
    size_t size;
    raft_snapshot_id got;
    ck_assert_int_eq(raft_store_snapshot_load(g_dir, 1 << 20, &got, &file, &data, &size), SL_OK);
    ck_assert_int_eq(got.end_offset, 0); /* none */
    ck_assert_int_eq(
        raft_store_snapshot_write(g_dir, (raft_snapshot_id){ 10, 1 }, (const uint8_t *)"old", 3),
        SL_OK);
    ck_assert_int_eq(
        raft_store_snapshot_write(g_dir, (raft_snapshot_id){ 20, 2 }, (const uint8_t *)"newer", 5),
        SL_OK);
    ck_assert_int_eq(raft_store_snapshot_load(g_dir, 1 << 20, &got, &file, &data, &size), SL_OK);
    ck_assert_int_eq(got.end_offset, 20);
    ck_assert_int_eq(got.epoch, 2);
    ck_assert_uint_eq(size, 5);
    ck_assert_mem_eq(data, "newer", 5);
    /* damage the newest: the older one is used */
    raft_store_snapshot_name((raft_snapshot_id){ 20, 2 }, name);
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, "X", 1, RAFT_SNAPSHOT_HEADER_BYTES + 1), 1);
    close(fd);
    ck_assert_int_eq(raft_store_snapshot_load(g_dir, 1 << 20, &got, &file, &data, &size), SL_OK);
    ck_assert_int_eq(got.end_offset, 10);
    ck_assert_mem_eq(data, "old", 3);
    /* a file whose header names another id than its file name is refused too */
    ck_assert_int_eq(
        raft_store_snapshot_check((raft_snapshot_id){ 11, 1 }, file.data, file.len, &data, &size),
        SL_E_CORRUPT);
    ck_assert_int_eq(
        raft_store_snapshot_check((raft_snapshot_id){ 10, 1 }, file.data, 20, &data, &size),
        SL_E_CORRUPT);
    ck_assert_int_eq(raft_store_snapshot_prune(g_dir, (raft_snapshot_id){ 10, 1 }), SL_OK);
    ck_assert(!file_exists(name));
    raft_store_snapshot_name((raft_snapshot_id){ 10, 1 }, name);
    ck_assert(file_exists(name));
    sl_buf_deinit(&file);
}
END_TEST

/* ------------------------------------------------------------------ entries as batches */

START_TEST(test_entry_batches_round_trip) {
    sl_buf buf;
    sl_buf_init(&buf);
    for (size_t i = 0; i < sizeof(k_entries) / sizeof(k_entries[0]); i++) {
        const raft_entry *e = &k_entries[i];
        sl_buf_reset(&buf);
        ck_assert_int_eq(raft_store_entry_encode(e, 1700000000000LL, &buf), SL_OK);
        protocol_batch_header h;
        ck_assert_int_eq(protocol_batch_check(buf.data, buf.len, &h), SL_OK);
        ck_assert_int_eq(h.base_offset, e->offset);
        ck_assert_int_eq(h.partition_leader_epoch, e->epoch);
        ck_assert_int_eq(h.record_count, 1);
        ck_assert_int_eq(protocol_batch_is_control(&h), e->kind == RAFT_ENTRY_LEADER_CHANGE);
        raft_entry got;
        ck_assert_int_eq(raft_store_entry_decode(buf.data, buf.len, &got), SL_OK);
        assert_entries_eq(e, &got, 1);
        /* a flipped bit anywhere in the CRC range is refused */
        buf.data[buf.len - 1] ^= 0x40;
        ck_assert_int_eq(raft_store_entry_decode(buf.data, buf.len, &got), SL_E_CORRUPT);
        buf.data[buf.len - 1] ^= 0x40;
        /* cut short, or with trailing bytes */
        ck_assert_int_eq(raft_store_entry_decode(buf.data, buf.len - 1, &got), SL_E_CORRUPT);
    }
    /* a two-record batch is not an entry */
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.partition_leader_epoch = 1;
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, &opt);
    sl_bytes v = { (const uint8_t *)"x", 1 };
    ck_assert_int_eq(protocol_batch_builder_add(&b, 0, SL_BYTES_NULL, v, NULL, 0), SL_OK);
    ck_assert_int_eq(protocol_batch_builder_add(&b, 0, SL_BYTES_NULL, v, NULL, 0), SL_OK);
    sl_buf_reset(&buf);
    ck_assert_int_eq(protocol_batch_builder_finish(&b, &buf), SL_OK);
    protocol_batch_builder_deinit(&b);
    raft_entry got;
    ck_assert_int_eq(raft_store_entry_decode(buf.data, buf.len, &got), SL_E_CORRUPT);
    sl_buf_deinit(&buf);
}
END_TEST

/* Entries written through the storage log read back in order, across segments. */
START_TEST(test_entries_through_storage_log) {
    storage_log_config cfg;
    memset(&cfg, 0, sizeof(cfg)); /* fields the defaults leave alone stay 0 */
    storage_log_config_defaults(&cfg);
    cfg.segment_bytes = 1024;
    storage_log *log = NULL;
    ck_assert_int_eq(storage_log_open(g_dir, &cfg, 1700000000000LL, &log), SL_OK);
    sl_buf buf;
    sl_buf_init(&buf);
    uint8_t payload[300];
    for (int i = 0; i < 40; i++) {
        memset(payload, 'a' + i % 26, sizeof(payload));
        raft_entry e = { .offset = i,
                         .epoch = 1 + i / 10,
                         .kind = i % 10 == 0,
                         .size = i % 10 == 0 ? 0 : (uint32_t)(i * 7),
                         .data = payload };
        sl_buf_reset(&buf);
        ck_assert_int_eq(raft_store_entry_encode(&e, 1700000000000LL, &buf), SL_OK);
        ck_assert_int_eq(storage_log_append_replica(log, buf.data, buf.len, 1700000000000LL, NULL),
                         SL_OK);
    }
    ck_assert_int_gt(storage_log_segment_count(log), 2);
    raft_entry *entries = NULL;
    int64_t count = 0;
    ck_assert_int_eq(raft_store_read_entries(log, 5, &buf, &entries, &count), SL_OK);
    ck_assert_int_eq(count, 35);
    for (int64_t i = 0; i < count; i++) {
        int64_t offset = 5 + i;
        ck_assert_int_eq(entries[i].offset, offset);
        ck_assert_int_eq(entries[i].epoch, 1 + offset / 10);
        ck_assert_int_eq(entries[i].kind, offset % 10 == 0);
        ck_assert_uint_eq(entries[i].size, offset % 10 == 0 ? 0 : (uint32_t)(offset * 7));
        if (entries[i].size) ck_assert_int_eq(entries[i].data[0], 'a' + offset % 26);
    }
    sl_free(entries);
    ck_assert_int_eq(raft_store_read_entries(log, 40, &buf, &entries, &count), SL_OK);
    ck_assert_int_eq(count, 0);
    sl_free(entries);
    sl_buf_deinit(&buf);
    storage_log_delete(log);
    ck_assert_int_eq(mkdir(g_dir, 0700), 0); /* teardown expects it */
}
END_TEST

Suite *raft_wire_suite(void) {
    Suite *s = suite_create("raft_wire");
    TCase *tc = tcase_create("messages");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_every_message_type_round_trips, 0, 10);
    tcase_add_test(tc, test_defaults_round_trip);
    tcase_add_test(tc, test_unknown_type_and_garbage_refused);
    tcase_add_test(tc, test_out_of_range_fields_refused);
    tcase_add_test(tc, test_hello_round_trip_and_refusals);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_test(tc, test_quorum_state_round_trip);
    tcase_add_loop_test(tc, test_quorum_state_bad_files_refused, 0,
                        (int)(sizeof(k_bad_states) / sizeof(k_bad_states[0])));
    tcase_add_test(tc, test_snapshot_files);
    tcase_add_test(tc, test_entry_batches_round_trip);
    tcase_add_test(tc, test_entries_through_storage_log);
    suite_add_tcase(s, tc);
    return s;
}
