/* raft_wire.c — raft_msg <-> the protobuf messages of raft/raft.proto.
 *
 * One protobuf message per raft_msg_type; the frame type says which. The common
 * fields (to, epoch, req_id, error, leader_id) have the same numbers everywhere, and
 * `from` is never on the wire. Decoding unpacks with protobuf-c (which refuses missing
 * required fields and malformed encodings), then checks what the raft_msg fields can
 * hold: an error code must fit int16, an entry kind must be known, sizes must fit
 * uint32, and counts must stay within raft.h's limits. Everything else (offsets,
 * epochs, ids) is the core's to judge: it answers or ignores, never asserts. */
#include "raft/raft_driver_int.h"
#include "raft/raft.pb-c.h"

#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <string.h>

/* Pack any message into out. */
static void pack_into(const ProtobufCMessage *pb, sl_buf *out) {
    size_t size = protobuf_c_message_get_packed_size(pb);
    uint8_t *p = sl_buf_reserve(out, size);
    size_t written = protobuf_c_message_pack(pb, p);
    sl_buf_truncate(out, out->len - size + written);
}

/* ------------------------------------------------------------------ encode */

#define SET_COMMON(pb, msg)                                                                        \
    do {                                                                                           \
        (pb).to = (msg)->to;                                                                       \
        (pb).epoch = (msg)->epoch;                                                                 \
        (pb).req_id = (msg)->req_id;                                                               \
        (pb).has_leader_id = true;                                                                 \
        (pb).leader_id = (msg)->leader_id;                                                         \
    } while (0)

#define SET_ERROR(pb, msg)                                                                         \
    do {                                                                                           \
        (pb).has_error = (msg)->error != 0;                                                        \
        (pb).error = (msg)->error;                                                                 \
    } while (0)

static void encode_vote(const raft_msg *msg, sl_buf *out) {
    if (msg->type == RAFT_MSG_VOTE_REQUEST) {
        Rf__VoteRequest pb = RF__VOTE_REQUEST__INIT;
        SET_COMMON(pb, msg);
        pb.last_epoch = msg->vote.last_epoch;
        pb.last_offset = msg->vote.last_offset;
        pb.has_pre_vote = msg->vote.pre_vote;
        pb.pre_vote = msg->vote.pre_vote;
        pack_into(&pb.base, out);
        return;
    }
    Rf__VoteResponse pb = RF__VOTE_RESPONSE__INIT;
    SET_COMMON(pb, msg);
    SET_ERROR(pb, msg);
    pb.granted = msg->vote_resp.granted;
    pb.has_pre_vote = msg->vote_resp.pre_vote;
    pb.pre_vote = msg->vote_resp.pre_vote;
    pack_into(&pb.base, out);
}

static int encode_epoch_msgs(const raft_msg *msg, sl_buf *out) {
    switch (msg->type) {
    case RAFT_MSG_BEGIN_EPOCH_REQUEST: {
        Rf__BeginQuorumEpochRequest pb = RF__BEGIN_QUORUM_EPOCH_REQUEST__INIT;
        SET_COMMON(pb, msg);
        pack_into(&pb.base, out);
        return SL_OK;
    }
    case RAFT_MSG_BEGIN_EPOCH_RESPONSE: {
        Rf__BeginQuorumEpochResponse pb = RF__BEGIN_QUORUM_EPOCH_RESPONSE__INIT;
        SET_COMMON(pb, msg);
        SET_ERROR(pb, msg);
        pack_into(&pb.base, out);
        return SL_OK;
    }
    case RAFT_MSG_END_EPOCH_REQUEST: {
        int32_t count = msg->end_epoch.successor_count;
        if (count < 0 || count > RAFT_VOTERS_MAX) return SL_E_INVALID;
        Rf__EndQuorumEpochRequest pb = RF__END_QUORUM_EPOCH_REQUEST__INIT;
        SET_COMMON(pb, msg);
        pb.n_successors = (size_t)count;
        pb.successors = (int32_t *)msg->end_epoch.successors;
        pack_into(&pb.base, out);
        return SL_OK;
    }
    default: {
        Rf__EndQuorumEpochResponse pb = RF__END_QUORUM_EPOCH_RESPONSE__INIT;
        SET_COMMON(pb, msg);
        SET_ERROR(pb, msg);
        pack_into(&pb.base, out);
        return SL_OK;
    }
    }
}

static void encode_fetch_request(const raft_msg *msg, sl_buf *out) {
    Rf__FetchRequest pb = RF__FETCH_REQUEST__INIT;
    SET_COMMON(pb, msg);
    pb.fetch_offset = msg->fetch.fetch_offset;
    pb.last_fetched_epoch = msg->fetch.last_fetched_epoch;
    pb.high_watermark = msg->fetch.high_watermark;
    pb.max_wait_ms = msg->fetch.max_wait_ms;
    pack_into(&pb.base, out);
}

static int encode_fetch_response(const raft_msg *msg, sl_buf *out) {
    const raft_fetch_response *r = &msg->fetch_resp;
    if (r->entry_count < 0 || r->entry_count > RAFT_FETCH_ENTRIES_MAX) return SL_E_INVALID;
    Rf__FetchResponse pb = RF__FETCH_RESPONSE__INIT;
    SET_COMMON(pb, msg);
    SET_ERROR(pb, msg);
    pb.has_high_watermark = pb.has_log_start_offset = pb.has_diverging_epoch = true;
    pb.has_diverging_end_offset = pb.has_snapshot_end_offset = pb.has_snapshot_epoch = true;
    pb.has_fetch_offset = pb.has_last_fetched_epoch = true;
    pb.high_watermark = r->high_watermark;
    pb.log_start_offset = r->log_start_offset;
    pb.diverging_epoch = r->diverging_epoch;
    pb.diverging_end_offset = r->diverging_end_offset;
    pb.snapshot_end_offset = r->snapshot_id.end_offset;
    pb.snapshot_epoch = r->snapshot_id.epoch;
    pb.fetch_offset = r->fetch_offset;
    pb.last_fetched_epoch = r->last_fetched_epoch;
    size_t count = (size_t)r->entry_count;
    Rf__Entry *entries = count ? sl_calloc(count, sizeof(*entries)) : NULL;
    Rf__Entry **ptrs = count ? sl_calloc(count, sizeof(*ptrs)) : NULL;
    for (size_t i = 0; i < count; i++) {
        const raft_entry *e = &r->entries[i];
        rf__entry__init(&entries[i]);
        entries[i].offset = e->offset;
        entries[i].epoch = e->epoch;
        entries[i].has_kind = e->kind != 0;
        entries[i].kind = e->kind;
        entries[i].has_data = e->size > 0;
        entries[i].data = (ProtobufCBinaryData){ e->size, (uint8_t *)e->data };
        ptrs[i] = &entries[i];
    }
    pb.n_entries = count;
    pb.entries = ptrs;
    pack_into(&pb.base, out);
    sl_free(ptrs);
    sl_free(entries);
    return SL_OK;
}

static void encode_snapshot_msgs(const raft_msg *msg, sl_buf *out) {
    if (msg->type == RAFT_MSG_FETCH_SNAPSHOT_REQUEST) {
        Rf__FetchSnapshotRequest pb = RF__FETCH_SNAPSHOT_REQUEST__INIT;
        SET_COMMON(pb, msg);
        pb.snapshot_end_offset = msg->snap.snapshot_id.end_offset;
        pb.snapshot_epoch = msg->snap.snapshot_id.epoch;
        pb.position = msg->snap.position;
        pack_into(&pb.base, out);
        return;
    }
    const raft_fetch_snapshot_response *r = &msg->snap_resp;
    Rf__FetchSnapshotResponse pb = RF__FETCH_SNAPSHOT_RESPONSE__INIT;
    SET_COMMON(pb, msg);
    SET_ERROR(pb, msg);
    pb.has_snapshot_end_offset = pb.has_snapshot_epoch = pb.has_size = pb.has_position = true;
    pb.snapshot_end_offset = r->snapshot_id.end_offset;
    pb.snapshot_epoch = r->snapshot_id.epoch;
    pb.size = r->size;
    pb.position = r->position;
    pb.has_data = r->data_size > 0;
    pb.data = (ProtobufCBinaryData){ r->data_size, (uint8_t *)r->data };
    pack_into(&pb.base, out);
}

int raft_wire_encode(const raft_msg *msg, sl_buf *out) {
    switch (msg->type) {
    case RAFT_MSG_VOTE_REQUEST:
    case RAFT_MSG_VOTE_RESPONSE:
        encode_vote(msg, out);
        return SL_OK;
    case RAFT_MSG_BEGIN_EPOCH_REQUEST:
    case RAFT_MSG_BEGIN_EPOCH_RESPONSE:
    case RAFT_MSG_END_EPOCH_REQUEST:
    case RAFT_MSG_END_EPOCH_RESPONSE:
        return encode_epoch_msgs(msg, out);
    case RAFT_MSG_FETCH_REQUEST:
        encode_fetch_request(msg, out);
        return SL_OK;
    case RAFT_MSG_FETCH_RESPONSE:
        return encode_fetch_response(msg, out);
    case RAFT_MSG_FETCH_SNAPSHOT_REQUEST:
    case RAFT_MSG_FETCH_SNAPSHOT_RESPONSE:
        encode_snapshot_msgs(msg, out);
        return SL_OK;
    }
    return SL_E_INVALID;
}

/* ------------------------------------------------------------------ decode */

static bool error_fits(int32_t error) {
    return error >= INT16_MIN && error <= INT16_MAX;
}

#define GET_COMMON(m, pb)                                                                          \
    do {                                                                                           \
        (m)->to = (pb)->to;                                                                        \
        (m)->epoch = (pb)->epoch;                                                                  \
        (m)->req_id = (pb)->req_id;                                                                \
        (m)->leader_id = (pb)->leader_id;                                                          \
    } while (0)

static int decode_vote(raft_wire_msg *out) {
    raft_msg *m = &out->msg;
    if (m->type == RAFT_MSG_VOTE_REQUEST) {
        const Rf__VoteRequest *pb = (const Rf__VoteRequest *)out->pb;
        GET_COMMON(m, pb);
        m->vote = (raft_vote_request){ .last_epoch = pb->last_epoch,
                                       .last_offset = pb->last_offset,
                                       .pre_vote = pb->pre_vote };
        return SL_OK;
    }
    const Rf__VoteResponse *pb = (const Rf__VoteResponse *)out->pb;
    if (!error_fits(pb->error)) return SL_E_CORRUPT;
    GET_COMMON(m, pb);
    m->error = (int16_t)pb->error;
    m->vote_resp = (raft_vote_response){ .granted = pb->granted, .pre_vote = pb->pre_vote };
    return SL_OK;
}

static int decode_epoch_msgs(raft_wire_msg *out) {
    raft_msg *m = &out->msg;
    switch (m->type) {
    case RAFT_MSG_BEGIN_EPOCH_REQUEST: {
        const Rf__BeginQuorumEpochRequest *pb = (const Rf__BeginQuorumEpochRequest *)out->pb;
        GET_COMMON(m, pb);
        return SL_OK;
    }
    case RAFT_MSG_BEGIN_EPOCH_RESPONSE: {
        const Rf__BeginQuorumEpochResponse *pb = (const Rf__BeginQuorumEpochResponse *)out->pb;
        if (!error_fits(pb->error)) return SL_E_CORRUPT;
        GET_COMMON(m, pb);
        m->error = (int16_t)pb->error;
        return SL_OK;
    }
    case RAFT_MSG_END_EPOCH_REQUEST: {
        const Rf__EndQuorumEpochRequest *pb = (const Rf__EndQuorumEpochRequest *)out->pb;
        if (pb->n_successors > RAFT_VOTERS_MAX) return SL_E_CORRUPT;
        GET_COMMON(m, pb);
        m->end_epoch.successor_count = (int32_t)pb->n_successors;
        for (size_t i = 0; i < pb->n_successors; i++)
            m->end_epoch.successors[i] = pb->successors[i];
        return SL_OK;
    }
    default: {
        const Rf__EndQuorumEpochResponse *pb = (const Rf__EndQuorumEpochResponse *)out->pb;
        if (!error_fits(pb->error)) return SL_E_CORRUPT;
        GET_COMMON(m, pb);
        m->error = (int16_t)pb->error;
        return SL_OK;
    }
    }
}

static int decode_fetch_request(raft_wire_msg *out) {
    raft_msg *m = &out->msg;
    const Rf__FetchRequest *pb = (const Rf__FetchRequest *)out->pb;
    GET_COMMON(m, pb);
    m->fetch = (raft_fetch_request){ .fetch_offset = pb->fetch_offset,
                                     .last_fetched_epoch = pb->last_fetched_epoch,
                                     .high_watermark = pb->high_watermark,
                                     .max_wait_ms = pb->max_wait_ms };
    return SL_OK;
}

static int decode_entries(raft_wire_msg *out, const Rf__FetchResponse *pb) {
    if (pb->n_entries > RAFT_FETCH_ENTRIES_MAX) return SL_E_CORRUPT;
    if (pb->n_entries == 0) return SL_OK;
    out->entries = sl_calloc(pb->n_entries, sizeof(raft_entry));
    for (size_t i = 0; i < pb->n_entries; i++) {
        const Rf__Entry *e = pb->entries[i];
        if (e->kind > RAFT_ENTRY_LEADER_CHANGE || e->data.len > UINT32_MAX) return SL_E_CORRUPT;
        out->entries[i] = (raft_entry){ .offset = e->offset,
                                        .epoch = e->epoch,
                                        .kind = (uint8_t)e->kind,
                                        .size = (uint32_t)e->data.len,
                                        .data = e->data.len ? e->data.data : NULL };
    }
    out->msg.fetch_resp.entries = out->entries;
    out->msg.fetch_resp.entry_count = (int32_t)pb->n_entries;
    return SL_OK;
}

static int decode_fetch_response(raft_wire_msg *out) {
    raft_msg *m = &out->msg;
    const Rf__FetchResponse *pb = (const Rf__FetchResponse *)out->pb;
    if (!error_fits(pb->error)) return SL_E_CORRUPT;
    GET_COMMON(m, pb);
    m->error = (int16_t)pb->error;
    raft_fetch_response *r = &m->fetch_resp;
    r->high_watermark = pb->high_watermark;
    r->log_start_offset = pb->log_start_offset;
    r->diverging_epoch = pb->diverging_epoch;
    r->diverging_end_offset = pb->diverging_end_offset;
    r->snapshot_id = (raft_snapshot_id){ pb->snapshot_end_offset, pb->snapshot_epoch };
    r->fetch_offset = pb->fetch_offset;
    r->last_fetched_epoch = pb->last_fetched_epoch;
    return decode_entries(out, pb);
}

static int decode_snapshot_msgs(raft_wire_msg *out) {
    raft_msg *m = &out->msg;
    if (m->type == RAFT_MSG_FETCH_SNAPSHOT_REQUEST) {
        const Rf__FetchSnapshotRequest *pb = (const Rf__FetchSnapshotRequest *)out->pb;
        GET_COMMON(m, pb);
        m->snap = (raft_fetch_snapshot_request){
            .snapshot_id = { pb->snapshot_end_offset, pb->snapshot_epoch },
            .position = pb->position,
        };
        return SL_OK;
    }
    const Rf__FetchSnapshotResponse *pb = (const Rf__FetchSnapshotResponse *)out->pb;
    if (!error_fits(pb->error) || pb->data.len > UINT32_MAX) return SL_E_CORRUPT;
    GET_COMMON(m, pb);
    m->error = (int16_t)pb->error;
    m->snap_resp = (raft_fetch_snapshot_response){
        .snapshot_id = { pb->snapshot_end_offset, pb->snapshot_epoch },
        .size = pb->size,
        .position = pb->position,
        .data = pb->data.len ? pb->data.data : NULL,
        .data_size = (uint32_t)pb->data.len,
    };
    return SL_OK;
}

static const ProtobufCMessageDescriptor *descriptor_of(uint16_t type) {
    switch (type) {
    case RAFT_MSG_VOTE_REQUEST:
        return &rf__vote_request__descriptor;
    case RAFT_MSG_VOTE_RESPONSE:
        return &rf__vote_response__descriptor;
    case RAFT_MSG_BEGIN_EPOCH_REQUEST:
        return &rf__begin_quorum_epoch_request__descriptor;
    case RAFT_MSG_BEGIN_EPOCH_RESPONSE:
        return &rf__begin_quorum_epoch_response__descriptor;
    case RAFT_MSG_END_EPOCH_REQUEST:
        return &rf__end_quorum_epoch_request__descriptor;
    case RAFT_MSG_END_EPOCH_RESPONSE:
        return &rf__end_quorum_epoch_response__descriptor;
    case RAFT_MSG_FETCH_REQUEST:
        return &rf__fetch_request__descriptor;
    case RAFT_MSG_FETCH_RESPONSE:
        return &rf__fetch_response__descriptor;
    case RAFT_MSG_FETCH_SNAPSHOT_REQUEST:
        return &rf__fetch_snapshot_request__descriptor;
    case RAFT_MSG_FETCH_SNAPSHOT_RESPONSE:
        return &rf__fetch_snapshot_response__descriptor;
    }
    return NULL;
}

static int decode_body(raft_wire_msg *out) {
    switch (out->msg.type) {
    case RAFT_MSG_VOTE_REQUEST:
    case RAFT_MSG_VOTE_RESPONSE:
        return decode_vote(out);
    case RAFT_MSG_BEGIN_EPOCH_REQUEST:
    case RAFT_MSG_BEGIN_EPOCH_RESPONSE:
    case RAFT_MSG_END_EPOCH_REQUEST:
    case RAFT_MSG_END_EPOCH_RESPONSE:
        return decode_epoch_msgs(out);
    case RAFT_MSG_FETCH_REQUEST:
        return decode_fetch_request(out);
    case RAFT_MSG_FETCH_RESPONSE:
        return decode_fetch_response(out);
    case RAFT_MSG_FETCH_SNAPSHOT_REQUEST:
    case RAFT_MSG_FETCH_SNAPSHOT_RESPONSE:
        return decode_snapshot_msgs(out);
    }
    return SL_E_INVALID;
}

int raft_wire_decode(
    uint16_t type, int32_t from, const uint8_t *payload, size_t len, raft_wire_msg *out) {
    memset(out, 0, sizeof(*out));
    const ProtobufCMessageDescriptor *desc = descriptor_of(type);
    if (!desc) return SL_E_INVALID;
    out->pb = protobuf_c_message_unpack(desc, NULL, len, payload);
    if (!out->pb) return SL_E_CORRUPT;
    out->msg.type = (raft_msg_type)type;
    out->msg.from = from;
    int rc = decode_body(out);
    if (rc != SL_OK) raft_wire_msg_free(out);
    return rc;
}

void raft_wire_msg_free(raft_wire_msg *m) {
    if (m->pb) protobuf_c_message_free_unpacked(m->pb, NULL);
    sl_free(m->entries);
    memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ hello */

void raft_wire_hello_encode(int32_t node_id, sl_buf *out) {
    Rf__Hello pb = RF__HELLO__INIT;
    pb.node_id = node_id;
    pb.version = RAFT_WIRE_VERSION;
    pack_into(&pb.base, out);
}

int raft_wire_hello_decode(const uint8_t *payload, size_t len, int32_t *node_id_out) {
    Rf__Hello *pb = rf__hello__unpack(NULL, len, payload);
    if (!pb) return SL_E_CORRUPT;
    int rc = SL_OK;
    if (pb->version != RAFT_WIRE_VERSION) {
        rc = SL_E_UNSUPPORTED;
    } else if (pb->node_id < 0) {
        rc = SL_E_CORRUPT;
    } else {
        *node_id_out = pb->node_id;
    }
    rf__hello__free_unpacked(pb, NULL);
    return rc;
}
