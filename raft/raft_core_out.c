/* raft_core_out.c — the node's outputs: messages, log operations, committed entries,
 * and the hand-over to the driver (raft_node_ready).
 *
 * Two raft_out buffers alternate: inputs append to the pending one; raft_node_ready
 * hands it out and makes the other (the previous ready's, now released) pending.
 * Everything a ready points to — payload copies in the arena, the arrays — therefore
 * stays put until the next raft_node_ready (inputs in between write to the other
 * buffer), and no output points into the log, which later inputs may truncate. */
#include "raft/raft_int.h"

#include "common/sl_alloc.h"
#include "common/sl_assert.h"

#include <string.h>

void raft_out_init(raft_out *out) {
    memset(out, 0, sizeof(*out));
    sl_arena_init(&out->arena);
    out->truncated_from = -1;
}

void raft_out_deinit(raft_out *out) {
    sl_arena_deinit(&out->arena);
    sl_free(out->msgs);
    sl_free(out->ops);
    sl_free(out->entries);
    sl_free(out->op_first);
    sl_free(out->committed);
    memset(out, 0, sizeof(*out));
}

void raft_out_clear(raft_out *out) {
    sl_arena_reset(&out->arena);
    out->msg_count = 0;
    out->op_count = 0;
    out->entry_count = 0;
    out->committed_count = 0;
    out->state_changed = false;
    out->truncated_from = -1;
}

raft_out *raft_pending(raft_node *node) {
    return &node->out[node->pending];
}

/* Grow *arr (elements of elem bytes) so index `count` fits. */
static void *out_grow(void *arr, int64_t count, int64_t *cap, size_t elem) {
    if (count < *cap) return arr;
    int64_t new_cap = *cap < 16 ? 16 : *cap * 2;
    arr = sl_realloc(arr, (size_t)new_cap * elem);
    *cap = new_cap;
    return arr;
}

static void *out_grow32(void *arr, int32_t count, int32_t *cap, size_t elem) {
    int64_t cap64 = *cap;
    arr = out_grow(arr, count, &cap64, elem);
    SL_ASSERT(cap64 <= INT32_MAX);
    *cap = (int32_t)cap64;
    return arr;
}

const uint8_t *raft_out_copy(raft_node *node, const void *data, size_t size) {
    if (size == 0) return NULL;
    uint8_t *copy = sl_arena_alloc(&raft_pending(node)->arena, size);
    memcpy(copy, data, size);
    return copy;
}

raft_msg *raft_msg_new(raft_node *node, raft_msg_type type, int32_t to, uint32_t req_id) {
    raft_out *out = raft_pending(node);
    out->msgs = out_grow32(out->msgs, out->msg_count, &out->msg_cap, sizeof(*out->msgs));
    raft_msg *msg = &out->msgs[out->msg_count++];
    memset(msg, 0, sizeof(*msg));
    msg->type = type;
    msg->from = node->cfg.node_id;
    msg->to = to;
    msg->epoch = node->epoch;
    msg->req_id = req_id;
    msg->leader_id = node->leader_id;
    return msg;
}

raft_msg *raft_msg_reply(raft_node *node, const raft_msg *req, raft_msg_type type, int16_t error) {
    raft_msg *msg = raft_msg_new(node, type, req->from, req->req_id);
    msg->error = error;
    return msg;
}

static raft_log_op *out_op_new(raft_node *node, raft_log_op_type type) {
    raft_out *out = raft_pending(node);
    if (out->op_count == out->op_cap) {
        int32_t cap = out->op_cap < 16 ? 16 : out->op_cap * 2;
        out->ops = sl_realloc(out->ops, (size_t)cap * sizeof(*out->ops));
        out->op_first = sl_realloc(out->op_first, (size_t)cap * sizeof(*out->op_first));
        out->op_cap = cap;
    }
    raft_log_op *op = &out->ops[out->op_count];
    memset(op, 0, sizeof(*op));
    op->type = type;
    out->op_first[out->op_count] = out->entry_count;
    out->op_count++;
    return op;
}

void raft_out_truncate(raft_node *node, int64_t offset) {
    raft_out *out = raft_pending(node);
    raft_log_op *op = out_op_new(node, RAFT_LOG_OP_TRUNCATE);
    op->offset = offset;
    if (out->truncated_from < 0 || offset < out->truncated_from) out->truncated_from = offset;
}

void raft_out_append(raft_node *node, int64_t offset) {
    raft_out *out = raft_pending(node);
    const raft_log_slot *slot = raft_log_slot_at(&node->log, offset);
    SL_ASSERT(slot != NULL);
    raft_log_op *last = out->op_count > 0 ? &out->ops[out->op_count - 1] : NULL;
    bool extend =
        last && last->type == RAFT_LOG_OP_APPEND && last->offset + last->entry_count == offset;
    if (!extend) {
        last = out_op_new(node, RAFT_LOG_OP_APPEND);
        last->offset = offset;
    }
    out->entries = out_grow(out->entries, out->entry_count, &out->entry_cap, sizeof(*out->entries));
    out->entries[out->entry_count++] = (raft_entry){
        .offset = offset,
        .epoch = slot->epoch,
        .kind = slot->kind,
        .size = slot->size,
        .data = raft_out_copy(node, slot->data, slot->size),
    };
    last->entry_count++;
}

void raft_out_install(raft_node *node, int64_t old_end) {
    raft_out *out = raft_pending(node);
    int64_t start = node->log.start_offset;
    if (old_end > start && (out->truncated_from < 0 || start < out->truncated_from)) {
        out->truncated_from = start; /* entries past the snapshot were dropped with the log */
    }
    raft_log_op *op = out_op_new(node, RAFT_LOG_OP_INSTALL_SNAPSHOT);
    op->snapshot_id = (raft_snapshot_id){ node->log.start_offset, node->log.start_epoch };
    op->offset = node->log.start_offset;
    op->data = raft_out_copy(node, node->snap_data, node->snap_size);
    op->size = node->snap_size;
}

void raft_out_discard(raft_node *node, int64_t offset) {
    raft_log_op *op = out_op_new(node, RAFT_LOG_OP_DISCARD_PREFIX);
    op->offset = offset;
}

void raft_out_state_changed(raft_node *node) {
    raft_pending(node)->state_changed = true;
}

/* Copy the entries between the last handed-out HW and the current HW. */
void raft_out_collect_committed(raft_node *node) {
    raft_out *out = raft_pending(node);
    if (node->applied_hw < node->log.start_offset) node->applied_hw = node->log.start_offset;
    for (int64_t offset = node->applied_hw; offset < node->hw; offset++) {
        const raft_log_slot *slot = raft_log_slot_at(&node->log, offset);
        SL_ASSERT(slot != NULL);
        out->committed = out_grow32(out->committed, out->committed_count, &out->committed_cap,
                                    sizeof(*out->committed));
        out->committed[out->committed_count++] = (raft_entry){
            .offset = offset,
            .epoch = slot->epoch,
            .kind = slot->kind,
            .size = slot->size,
            .data = raft_out_copy(node, slot->data, slot->size),
        };
    }
    if (node->hw > node->applied_hw) node->applied_hw = node->hw;
}

bool raft_node_has_ready(const raft_node *node) {
    const raft_out *out = &node->out[node->pending];
    return out->state_changed || out->msg_count > 0 || out->op_count > 0 ||
           node->hw > node->applied_hw || out->truncated_from >= 0;
}

static void next_min(int64_t *next, int64_t at) {
    if (at > 0 && at < *next) *next = at;
}

/* The earliest deadline a tick must serve. A fetch that waits for the disk is not a
 * deadline: raft_node_log_durable sends it. */
int64_t raft_node_next_tick_ms(const raft_node *node) {
    int64_t next = INT64_MAX;
    next_min(&next, node->election_deadline_ms);
    next_min(&next, node->fetch_deadline_ms);
    next_min(&next, node->resend_ms);
    if (node->fetch_in_flight) {
        next_min(&next, node->fetch_expire_ms);
    } else if (node->fetch_next_ms > node->now_ms) {
        next_min(&next, node->fetch_next_ms);
    }
    for (int32_t i = 0; i < node->parked_count; i++)
        next_min(&next, node->parked[i].deadline_ms);
    if (node->role == RAFT_ROLE_LEADER) {
        /* check-quorum: the oldest voter contact expires first */
        for (int32_t i = 0; i < node->voter_count; i++) {
            if (i == node->self_index) continue;
            next_min(&next, node->replicas[i].last_fetch_ms + node->cfg.fetch_timeout_ms);
        }
    }
    return next == INT64_MAX ? node->now_ms + node->cfg.fetch_timeout_ms : next;
}

void raft_node_ready(raft_node *node, raft_ready *rd) {
    raft_out_collect_committed(node);
    raft_out *out = raft_pending(node);
    for (int32_t i = 0; i < out->op_count; i++) {
        if (out->ops[i].type == RAFT_LOG_OP_APPEND)
            out->ops[i].entries = &out->entries[out->op_first[i]];
    }
    memset(rd, 0, sizeof(*rd));
    rd->state_changed = out->state_changed;
    rd->state = (raft_quorum_state){ node->epoch, node->voted_id, node->leader_id };
    rd->log_ops = out->ops;
    rd->log_op_count = out->op_count;
    rd->msgs = out->msgs;
    rd->msg_count = out->msg_count;
    rd->committed = out->committed;
    rd->committed_count = out->committed_count;
    rd->high_watermark = node->hw;
    rd->truncated_from = out->truncated_from;
    rd->role = node->role;
    rd->epoch = node->epoch;
    rd->leader_id = node->leader_id;
    rd->next_tick_ms = raft_node_next_tick_ms(node);
    /* the other buffer, released now, collects from here on */
    node->pending ^= 1;
    raft_out_clear(raft_pending(node));
}
