/* raft_core_fetch.c — pull replication (KIP-595 Fetch, KIP-630 FetchSnapshot) and the
 * high watermark.
 *
 * Follower/observer side: one request in flight at a time, to the leader (or, for an
 * observer that knows no leader, to a random voter that will name it). A follower
 * sends its next Fetch only once everything it has appended is durable, so the fetch
 * offset it reports is a durable offset: that is what the leader counts toward the
 * high watermark. The answer is entries (appended), a diverging epoch (truncate to the
 * end of the last common epoch and fetch again), or a snapshot id (fetch the snapshot
 * in chunks, install it, and resume fetching after it).
 *
 * Leader side: a fetch is validated against the log (Kafka's validateOffsetAndEpoch),
 * recorded as the fetcher's durable end offset when it is a voter, and answered at
 * once when there is something new (entries, or a HW the fetcher has not seen), or
 * parked until there is, or until its max wait passes (long poll). The HW is the
 * largest offset a majority of voters have durably reached (the leader counts its own
 * durable end) and moves only once it covers the leader's own LeaderChange entry. */
#include "raft/raft_int.h"

#include "common/sl_alloc.h"
#include "common/sl_assert.h"
#include "common/sl_buf.h"
#include "common/sl_log.h"

#include <string.h>

typedef enum fetch_outcome {
    FETCH_VALID,
    FETCH_DIVERGING,
    FETCH_SNAPSHOT,
} fetch_outcome;

void raft_set_hw(raft_node *node, int64_t hw) {
    SL_ASSERT(hw >= node->hw);
    SL_ASSERT(hw <= raft_log_end(&node->log));
    node->hw = hw;
}

/* ------------------------------------------------------------------ leader */

/* LeaderChangeMessage (version 0): leader id, voters, granting voters. */
static void leader_change_payload(raft_node *node, sl_buf *out) {
    sl_buf_put_i16(out, 0);
    sl_buf_put_i32(out, node->cfg.node_id);
    sl_buf_put_i32(out, node->voter_count);
    for (int32_t i = 0; i < node->voter_count; i++)
        sl_buf_put_i32(out, node->cfg.voters[i]);
    sl_buf_put_i32(out, __builtin_popcount(node->granted_mask));
    for (int32_t i = 0; i < node->voter_count; i++) {
        if ((node->granted_mask >> i) & 1u) sl_buf_put_i32(out, node->cfg.voters[i]);
    }
}

void raft_leader_start(raft_node *node) {
    for (int32_t i = 0; i < node->voter_count; i++) {
        node->replicas[i] = (raft_replica){ .id = node->cfg.voters[i],
                                            .end_offset = -1,
                                            .last_fetch_ms = node->now_ms,
                                            .acked = i == node->self_index };
    }
    sl_buf payload;
    sl_buf_init(&payload);
    leader_change_payload(node, &payload);
    node->epoch_start_offset = raft_log_end(&node->log);
    raft_log_append(&node->log, node->epoch, RAFT_ENTRY_LEADER_CHANGE, payload.data,
                    (uint32_t)payload.len);
    sl_buf_deinit(&payload);
    raft_out_append(node, node->epoch_start_offset);
    for (int32_t i = 0; i < node->voter_count; i++) {
        if (i == node->self_index) continue;
        raft_msg_new(node, RAFT_MSG_BEGIN_EPOCH_REQUEST, node->cfg.voters[i], ++node->next_req_id);
    }
    node->resend_ms = node->now_ms + node->cfg.request_timeout_ms;
    raft_leader_update_hw(node);
}

void raft_leader_update_hw(raft_node *node) {
    int64_t offsets[RAFT_VOTERS_MAX];
    int32_t n = node->voter_count;
    for (int32_t i = 0; i < n; i++) {
        offsets[i] = i == node->self_index ? raft_durable_end(node) : node->replicas[i].end_offset;
    }
    /* insertion sort, descending: n is at most RAFT_VOTERS_MAX */
    for (int32_t i = 1; i < n; i++) {
        int64_t v = offsets[i];
        int32_t j = i;
        while (j > 0 && offsets[j - 1] < v) {
            offsets[j] = offsets[j - 1];
            j--;
        }
        offsets[j] = v;
    }
    int64_t candidate = offsets[n / 2]; /* reached by a majority */
    if (RAFT_FP(node, RAFT_FP_MINORITY_HW)) candidate = raft_durable_end(node);
    /* KIP-595: commit nothing until an entry of this epoch is on a majority */
    if (candidate <= node->epoch_start_offset || candidate <= node->hw) return;
    raft_set_hw(node, candidate);
    raft_leader_complete_parked(node);
}

static fetch_outcome fetch_validate(const raft_node *node,
                                    const raft_fetch_request *f,
                                    int32_t *epoch_out,
                                    int64_t *end_out) {
    const raft_log *log = &node->log;
    /* Below the snapshot nothing can be compared, so the fetcher needs the snapshot.
     * A fetcher at the log start whose last epoch is newer than the snapshot's gets a
     * diverging epoch from the epoch cache instead (end_offset_for_epoch falls back to
     * the snapshot epoch), which the snapshot could not fix. */
    if (log->start_offset > 0 &&
        (f->fetch_offset < log->start_offset || f->last_fetched_epoch < log->start_epoch)) {
        return FETCH_SNAPSHOT;
    }
    if (!raft_log_end_offset_for_epoch(log, f->last_fetched_epoch, epoch_out, end_out)) {
        return FETCH_SNAPSHOT;
    }
    if (*epoch_out != f->last_fetched_epoch || *end_out < f->fetch_offset) return FETCH_DIVERGING;
    return FETCH_VALID;
}

static void fetch_fill_entries(raft_node *node, raft_msg *reply, int64_t from_offset) {
    int64_t end = raft_log_end(&node->log);
    int64_t count = 0;
    int64_t bytes = 0;
    while (from_offset + count < end && count < RAFT_FETCH_ENTRIES_MAX) {
        const raft_log_slot *slot = raft_log_slot_at(&node->log, from_offset + count);
        if (count > 0 && bytes + slot->size > node->cfg.fetch_max_bytes) break;
        bytes += slot->size;
        count++;
    }
    if (count == 0) return;
    raft_entry *entries =
        sl_arena_array(&raft_pending(node)->arena, (size_t)count, sizeof(raft_entry));
    for (int64_t i = 0; i < count; i++) {
        const raft_log_slot *slot = raft_log_slot_at(&node->log, from_offset + i);
        entries[i] = (raft_entry){ .offset = from_offset + i,
                                   .epoch = slot->epoch,
                                   .kind = slot->kind,
                                   .size = slot->size,
                                   .data = raft_out_copy(node, slot->data, slot->size) };
    }
    reply->fetch_resp.entries = entries;
    reply->fetch_resp.entry_count = (int32_t)count;
}

/* Answer a validated-epoch fetch from the leader's log. Returns false (nothing sent)
 * when the fetch should wait: valid, nothing new, and may_park. */
static bool fetch_answer(raft_node *node, const raft_parked *p, bool may_park) {
    int32_t div_epoch = -1;
    int64_t div_end = -1;
    fetch_outcome outcome = fetch_validate(node, &p->fetch, &div_epoch, &div_end);
    bool nothing_new =
        p->fetch.fetch_offset >= raft_log_end(&node->log) && p->fetch.high_watermark >= node->hw;
    if (outcome == FETCH_VALID && nothing_new && may_park) return false;
    raft_msg req = { .type = RAFT_MSG_FETCH_REQUEST, .from = p->from, .req_id = p->req_id };
    raft_msg *reply = raft_msg_reply(node, &req, RAFT_MSG_FETCH_RESPONSE, RAFT_ERR_NONE);
    raft_fetch_response *r = &reply->fetch_resp;
    r->high_watermark = node->hw;
    r->log_start_offset = node->log.start_offset;
    r->diverging_epoch = -1;
    r->diverging_end_offset = -1;
    r->fetch_offset = p->fetch.fetch_offset;
    r->last_fetched_epoch = p->fetch.last_fetched_epoch;
    if (outcome == FETCH_DIVERGING) {
        r->diverging_epoch = div_epoch;
        r->diverging_end_offset = div_end;
    } else if (outcome == FETCH_SNAPSHOT) {
        r->snapshot_id = (raft_snapshot_id){ node->log.start_offset, node->log.start_epoch };
    } else {
        fetch_fill_entries(node, reply, p->fetch.fetch_offset);
    }
    return true;
}

static void fetch_park(raft_node *node, const raft_parked *p) {
    for (int32_t i = 0; i < node->parked_count; i++) {
        if (node->parked[i].from == p->from) {
            node->parked[i] = *p; /* a newer fetch from the same replica replaces the old */
            return;
        }
    }
    if (node->parked_count == RAFT_OBSERVERS_MAX) {
        fetch_answer(node, p, false); /* full: answer now rather than grow */
        return;
    }
    node->parked[node->parked_count++] = *p;
}

void raft_leader_complete_parked(raft_node *node) {
    int32_t kept = 0;
    for (int32_t i = 0; i < node->parked_count; i++) {
        raft_parked p = node->parked[i];
        bool expired = node->now_ms >= p.deadline_ms;
        if (!fetch_answer(node, &p, !expired)) node->parked[kept++] = p;
    }
    node->parked_count = kept;
}

static int16_t fetch_request_error(const raft_node *node, const raft_msg *msg) {
    const raft_fetch_request *f = &msg->fetch;
    if (msg->epoch < 0 || f->fetch_offset < 0 || f->last_fetched_epoch < 0 || f->max_wait_ms < 0 ||
        f->high_watermark < -1) {
        return RAFT_ERR_INVALID_REQUEST;
    }
    if (node->role != RAFT_ROLE_LEADER) return RAFT_ERR_NOT_LEADER_OR_FOLLOWER;
    if (msg->epoch < node->epoch) return RAFT_ERR_FENCED_LEADER_EPOCH;
    if (msg->epoch > node->epoch) return RAFT_ERR_UNKNOWN_LEADER_EPOCH;
    return RAFT_ERR_NONE;
}

static void leader_note_contact(raft_node *node, int32_t from) {
    int32_t index = raft_voter_index(node, from);
    if (index < 0) return;
    node->replicas[index].last_fetch_ms = node->now_ms;
    node->replicas[index].acked = true;
}

void raft_handle_fetch_request(raft_node *node, const raft_msg *msg) {
    int16_t error = fetch_request_error(node, msg);
    if (error != RAFT_ERR_NONE) {
        raft_msg_reply(node, msg, RAFT_MSG_FETCH_RESPONSE, error)->fetch_resp.diverging_epoch = -1;
        return;
    }
    leader_note_contact(node, msg->from);
    raft_parked p = {
        .from = msg->from, .req_id = msg->req_id, .epoch = msg->epoch, .fetch = msg->fetch
    };
    int32_t max_wait = msg->fetch.max_wait_ms < node->cfg.fetch_max_wait_ms
                           ? msg->fetch.max_wait_ms
                           : node->cfg.fetch_max_wait_ms;
    p.deadline_ms = node->now_ms + max_wait;
    int32_t div_epoch;
    int64_t div_end;
    int32_t index = raft_voter_index(node, msg->from);
    if (index >= 0 && fetch_validate(node, &p.fetch, &div_epoch, &div_end) == FETCH_VALID) {
        /* the fetcher's log matches ours below fetch_offset and is durable there */
        node->replicas[index].end_offset = p.fetch.fetch_offset;
        raft_leader_update_hw(node);
    }
    if (!fetch_answer(node, &p, max_wait > 0)) fetch_park(node, &p);
}

void raft_handle_fetch_snapshot_request(raft_node *node, const raft_msg *msg) {
    const raft_fetch_snapshot_request *s = &msg->snap;
    int16_t error = RAFT_ERR_NONE;
    if (msg->epoch < 0 || s->position < 0) {
        error = RAFT_ERR_INVALID_REQUEST;
    } else if (node->role != RAFT_ROLE_LEADER) {
        error = RAFT_ERR_NOT_LEADER_OR_FOLLOWER;
    } else if (msg->epoch != node->epoch) {
        error =
            msg->epoch < node->epoch ? RAFT_ERR_FENCED_LEADER_EPOCH : RAFT_ERR_UNKNOWN_LEADER_EPOCH;
    } else if (node->log.start_offset == 0 || s->snapshot_id.end_offset != node->log.start_offset ||
               s->snapshot_id.epoch != node->log.start_epoch) {
        error = RAFT_ERR_SNAPSHOT_NOT_FOUND;
    } else if ((uint64_t)s->position > node->snap_size) {
        error = RAFT_ERR_POSITION_OUT_OF_RANGE;
    }
    if (error == RAFT_ERR_NONE) leader_note_contact(node, msg->from);
    raft_msg *reply = raft_msg_reply(node, msg, RAFT_MSG_FETCH_SNAPSHOT_RESPONSE, error);
    raft_fetch_snapshot_response *r = &reply->snap_resp;
    r->snapshot_id = s->snapshot_id;
    if (error != RAFT_ERR_NONE) return;
    size_t left = node->snap_size - (size_t)s->position;
    size_t chunk = left < (size_t)node->cfg.snapshot_chunk_bytes
                       ? left
                       : (size_t)node->cfg.snapshot_chunk_bytes;
    r->size = (int64_t)node->snap_size;
    r->position = s->position;
    r->data = raft_out_copy(node, node->snap_data + s->position, chunk);
    r->data_size = (uint32_t)chunk;
}

/* ------------------------------------------------------------------ follower */

void raft_fetcher_reset(raft_node *node) {
    node->fetch_in_flight = false;
    node->fetch_expire_ms = 0;
    node->fetch_next_ms = 0;
    node->snap_fetching = false;
    node->snap_fetch_size = -1;
    sl_buf_reset(&node->snap_fetch_buf);
}

static void fetcher_send(raft_node *node, int32_t target) {
    node->fetch_req_id = ++node->next_req_id;
    raft_msg *msg;
    if (node->snap_fetching) {
        msg = raft_msg_new(node, RAFT_MSG_FETCH_SNAPSHOT_REQUEST, target, node->fetch_req_id);
        msg->snap = (raft_fetch_snapshot_request){ .snapshot_id = node->snap_fetch_id,
                                                   .position = (int64_t)node->snap_fetch_buf.len };
    } else {
        int64_t offset = raft_durable_end(node);
        msg = raft_msg_new(node, RAFT_MSG_FETCH_REQUEST, target, node->fetch_req_id);
        msg->fetch = (raft_fetch_request){
            .fetch_offset = offset,
            .last_fetched_epoch = raft_log_epoch_at(&node->log, offset - 1),
            .high_watermark = node->hw,
            .max_wait_ms = node->cfg.fetch_max_wait_ms,
        };
    }
    node->fetch_in_flight = true;
    node->fetch_target = target;
    node->fetch_expire_ms =
        node->now_ms + node->cfg.fetch_max_wait_ms + node->cfg.request_timeout_ms;
}

/* An observer that knows no leader asks any voter (the answer names the leader),
 * preferring those the driver has not reported unreachable. */
static int32_t discovery_target(raft_node *node) {
    int32_t candidates[RAFT_VOTERS_MAX];
    int32_t count = 0;
    for (int32_t i = 0; i < node->voter_count; i++) {
        if (!((node->unreachable_mask >> i) & 1u)) candidates[count++] = node->cfg.voters[i];
    }
    if (count == 0) {
        return node->cfg.voters[sl_rand_below(&node->rng, (uint64_t)node->voter_count)];
    }
    return candidates[sl_rand_below(&node->rng, (uint64_t)count)];
}

void raft_fetcher_tick(raft_node *node) {
    bool follower = node->role == RAFT_ROLE_FOLLOWER;
    bool discovering = node->role == RAFT_ROLE_UNATTACHED && !node->is_voter;
    if (!follower && !discovering) return;
    if (node->fetch_in_flight) {
        if (node->now_ms < node->fetch_expire_ms) return;
        node->fetch_in_flight = false; /* lost: ask again */
    }
    if (node->now_ms < node->fetch_next_ms) return;
    /* the fetch offset is a durability claim: wait for everything appended */
    if (raft_durable_end(node) < raft_log_end(&node->log)) return;
    int32_t target = node->leader_id;
    if (discovering) target = discovery_target(node);
    fetcher_send(node, target);
}

/* DivergingEpoch: truncate to where our log and the leader's agree (Kafka's
 * truncateToEndOffset). Never below the HW: a leader asking for that is wrong. */
static void fetch_truncate(raft_node *node, const raft_fetch_response *r) {
    int32_t local_epoch;
    int64_t local_end;
    if (r->diverging_end_offset < 0 ||
        !raft_log_end_offset_for_epoch(&node->log, r->diverging_epoch, &local_epoch, &local_end)) {
        return;
    }
    int64_t offset = local_end;
    if (local_epoch == r->diverging_epoch && r->diverging_end_offset < offset) {
        offset = r->diverging_end_offset;
    }
    if (offset >= raft_log_end(&node->log)) return;
    if (offset < node->hw || offset < node->log.start_offset) {
        SL_LOG(SL_ERROR, "raft", "truncate_below_hw_refused", "node=%d offset=%lld hw=%lld",
               node->cfg.node_id, (long long)offset, (long long)node->hw);
        return;
    }
    raft_log_truncate(&node->log, offset);
    raft_out_truncate(node, offset);
}

static bool fetch_entries_valid(const raft_node *node, const raft_msg *msg) {
    const raft_fetch_response *r = &msg->fetch_resp;
    if (r->entry_count < 0 || r->entry_count > RAFT_FETCH_ENTRIES_MAX) return false;
    if (r->entry_count > 0 && r->entries == NULL) return false;
    int64_t offset = raft_log_end(&node->log);
    int32_t prev_epoch = raft_log_last_epoch(&node->log);
    for (int32_t i = 0; i < r->entry_count; i++) {
        const raft_entry *e = &r->entries[i];
        if (e->offset != offset + i || e->epoch < prev_epoch || e->epoch < 1 ||
            e->epoch > msg->epoch || e->kind > RAFT_ENTRY_LEADER_CHANGE ||
            e->size > (uint32_t)node->cfg.entry_max_bytes || (e->size > 0 && e->data == NULL)) {
            return false;
        }
        prev_epoch = e->epoch;
    }
    return true;
}

static void fetch_apply(raft_node *node, const raft_msg *msg) {
    const raft_fetch_response *r = &msg->fetch_resp;
    if (!fetch_entries_valid(node, msg) || r->high_watermark < -1) {
        SL_LOG(SL_WARN, "raft", "fetch_response_invalid", "node=%d from=%d", node->cfg.node_id,
               msg->from);
        node->fetch_next_ms = node->now_ms + node->cfg.retry_backoff_ms;
        return;
    }
    for (int32_t i = 0; i < r->entry_count; i++) {
        const raft_entry *e = &r->entries[i];
        int64_t offset = raft_log_end(&node->log);
        raft_log_append(&node->log, e->epoch, e->kind, e->data, e->size);
        raft_out_append(node, offset);
    }
    /* everything we hold now matches the leader's log, so its HW applies up to our end */
    int64_t hw = r->high_watermark;
    int64_t end = raft_log_end(&node->log);
    if (hw > end) hw = end;
    if (hw > node->hw) raft_set_hw(node, hw);
}

/* The leader's log starts after our end, or our last epoch is older than its snapshot:
 * our entries past the snapshot's epoch boundary cannot be committed ones (log
 * matching), so the snapshot replaces the whole log even when it ends before our end
 * (Kafka's truncateToLatestSnapshot). It never ends below our HW. */
static void fetch_start_snapshot(raft_node *node, const raft_msg *msg) {
    raft_snapshot_id id = msg->fetch_resp.snapshot_id;
    if (id.end_offset < node->hw || id.epoch < 1 || id.epoch > msg->epoch) {
        node->fetch_next_ms = node->now_ms + node->cfg.retry_backoff_ms;
        return;
    }
    node->snap_fetching = true;
    node->snap_fetch_id = id;
    node->snap_fetch_size = -1;
    sl_buf_reset(&node->snap_fetch_buf);
}

/* Learn from any response, then accept its content only if it comes from our leader
 * in our epoch. The request id need not match: with a request timeout shorter than the
 * round trip every answer would be "stale", yet a leader's log below its end never
 * changes during its epoch, and the callers check the content against the current log
 * (fetch offset and last epoch == our log end, snapshot position == bytes held), so an
 * answer to an earlier request is as good as one to the latest. Only the answer to the
 * latest request sends the next fetch, though: otherwise every duplicated request would
 * start a fetch chain of its own, and they would multiply. Returns true when the
 * caller should process it as a success. */
static bool fetcher_accept(raft_node *node, const raft_msg *msg) {
    if (msg->epoch < 0 || raft_voter_index(node, msg->from) < 0) return false;
    bool latest = node->fetch_in_flight && msg->req_id == node->fetch_req_id;
    if (raft_observe_epoch(node, msg->epoch, msg->leader_id)) return false;
    latest = latest && node->fetch_in_flight; /* a role change dropped the request */
    if (msg->error != RAFT_ERR_NONE) {
        if (latest) {
            node->fetch_in_flight = false;
            node->fetch_next_ms = node->now_ms + node->cfg.retry_backoff_ms;
        }
        return false;
    }
    if (node->role != RAFT_ROLE_FOLLOWER || msg->from != node->leader_id ||
        msg->epoch != node->epoch) {
        return false;
    }
    if (latest) {
        node->fetch_in_flight = false;
        node->fetch_next_ms = node->now_ms;
    }
    node->fetch_deadline_ms = node->now_ms + node->cfg.fetch_timeout_ms;
    node->fetched_from_leader = true;
    node->leader_unreachable = false;
    return true;
}

void raft_handle_fetch_response(raft_node *node, const raft_msg *msg) {
    if (!fetcher_accept(node, msg)) return;
    const raft_fetch_response *r = &msg->fetch_resp;
    /* The answer was computed for a log ending at (fetch_offset, last_fetched_epoch).
     * Ours may have changed since and come back to the same end offset with another
     * last epoch; the same pair means the same log (log matching), so check both. */
    int64_t end = raft_log_end(&node->log);
    if (node->snap_fetching || r->fetch_offset != end ||
        r->last_fetched_epoch != raft_log_epoch_at(&node->log, end - 1)) {
        return;
    }
    if (r->diverging_epoch >= 0) {
        fetch_truncate(node, r);
    } else if (r->snapshot_id.end_offset > 0) {
        fetch_start_snapshot(node, msg);
    } else {
        fetch_apply(node, msg);
    }
}

static bool snapshot_chunk_valid(const raft_node *node, const raft_fetch_snapshot_response *r) {
    if (r->snapshot_id.end_offset != node->snap_fetch_id.end_offset ||
        r->snapshot_id.epoch != node->snap_fetch_id.epoch) {
        return false;
    }
    if (r->size < 0 || r->size > node->cfg.snapshot_max_bytes) return false;
    if (node->snap_fetch_size >= 0 && r->size != node->snap_fetch_size) return false;
    if (r->position != (int64_t)node->snap_fetch_buf.len) return false;
    if ((int64_t)r->data_size > r->size - r->position) return false;
    if (r->data_size > 0 && r->data == NULL) return false;
    /* progress is required unless the snapshot is complete */
    return r->data_size > 0 || r->position == r->size;
}

static void snapshot_install(raft_node *node) {
    raft_snapshot_id id = node->snap_fetch_id;
    size_t size = 0;
    uint8_t *data = sl_buf_detach(&node->snap_fetch_buf, &size);
    sl_free(node->snap_data);
    node->snap_data = data;
    node->snap_size = size;
    node->snap_fetching = false;
    int64_t old_end = raft_log_end(&node->log);
    raft_log_reset(&node->log, id.end_offset, id.epoch);
    raft_out_install(node, old_end);
    /* a leader only serves snapshots of committed state */
    if (id.end_offset > node->hw) raft_set_hw(node, id.end_offset);
    SL_LOG(SL_INFO, "raft", "snapshot_installed", "node=%d end_offset=%lld epoch=%d bytes=%zu",
           node->cfg.node_id, (long long)id.end_offset, id.epoch, size);
}

void raft_handle_fetch_snapshot_response(raft_node *node, const raft_msg *msg) {
    int16_t error = msg->error;
    bool latest = node->fetch_in_flight && msg->req_id == node->fetch_req_id;
    if (!fetcher_accept(node, msg)) {
        if (latest && node->snap_fetching &&
            (error == RAFT_ERR_SNAPSHOT_NOT_FOUND || error == RAFT_ERR_POSITION_OUT_OF_RANGE)) {
            /* the leader moved to a newer snapshot: a plain fetch will name it */
            node->snap_fetching = false;
            sl_buf_reset(&node->snap_fetch_buf);
        }
        return;
    }
    if (!node->snap_fetching) return;
    const raft_fetch_snapshot_response *r = &msg->snap_resp;
    if (!snapshot_chunk_valid(node, r)) {
        if (!latest) return; /* an answer to an earlier request: ignore it */
        node->snap_fetching = false;
        sl_buf_reset(&node->snap_fetch_buf);
        node->fetch_next_ms = node->now_ms + node->cfg.retry_backoff_ms;
        return;
    }
    node->snap_fetch_size = r->size;
    if (r->data_size > 0) sl_buf_put(&node->snap_fetch_buf, r->data, r->data_size);
    if ((int64_t)node->snap_fetch_buf.len == r->size) snapshot_install(node);
}
