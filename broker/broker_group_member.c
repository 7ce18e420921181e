/* broker_group_member.c — the group coordinator's pure core, continued: SyncGroup (the
 * leader's assignment, written to __consumer_offsets before anyone receives it), Heartbeat,
 * LeaveGroup, the timers (session expiry, rebalance timeout, pending members and pending
 * syncs), DescribeGroups/ListGroups lookups and cancelling parked requests.
 * Error codes and their order follow Kafka 3.x's GroupCoordinator. */
#include "broker/broker_group.h"
#include "common/sl_alloc.h"
#include "common/sl_assert.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <string.h>

#define E(name) PROTOCOL_ERR_##name

/* The leader's assignment being written. */
typedef struct sync_data {
    int32_t count;
    char **member_ids;
    uint8_t **assignments;
    int32_t *lens;
} sync_data;

static void sync_data_free(sync_data *d) {
    if (!d) return;
    for (int32_t i = 0; i < d->count; i++) {
        sl_free(d->member_ids[i]);
        sl_free(d->assignments[i]);
    }
    sl_free(d->member_ids);
    sl_free(d->assignments);
    sl_free(d->lens);
    sl_free(d);
}

void broker_group_member_op_free(broker_group_op *op) {
    if (op->kind == BROKER_GROUP_OP_SYNC) {
        sync_data_free(op->data);
    } else if (op->kind == BROKER_GROUP_OP_STATIC_JOIN) {
        broker_group_static_join_data_free(op->data);
    }
    op->data = NULL;
}

/* Kafka's storeGroup error translation (GroupMetadataManager.storeGroup). */
int16_t broker_group_store_error(int16_t error) {
    switch (error) {
    case E(NONE):
        return E(NONE);
    case E(UNKNOWN_TOPIC_OR_PARTITION):
    case E(NOT_ENOUGH_REPLICAS):
    case E(NOT_ENOUGH_REPLICAS_AFTER_APPEND):
        return E(COORDINATOR_NOT_AVAILABLE);
    case E(NOT_LEADER_OR_FOLLOWER):
    case E(KAFKA_STORAGE_ERROR):
        return E(NOT_COORDINATOR);
    case E(REQUEST_TIMED_OUT):
        return E(REBALANCE_IN_PROGRESS);
    case E(MESSAGE_TOO_LARGE):
    case E(RECORD_LIST_TOO_LARGE):
    case E(INVALID_FETCH_SIZE):
        return E(UNKNOWN_SERVER_ERROR);
    default:
        return error;
    }
}

/* ---------------- SyncGroup ---------------- */

static void sync_fail(broker_group_core *core, void *waiter, int16_t error) {
    broker_group_sync_result res = { error, SL_STR_NULL, SL_STR_NULL, { NULL, 0 } };
    if (waiter) core->cb.sync_done(core->cb.ctx, waiter, &res);
}

static int16_t sync_validate(const broker_group *g, const broker_group_sync_request *req) {
    if (g->state == BROKER_GROUP_DEAD) return E(COORDINATOR_NOT_AVAILABLE);
    int16_t err = broker_group_validate_member(g, req->member_id, req->group_instance_id);
    if (err) return err;
    if (req->generation != g->generation) return E(ILLEGAL_GENERATION);
    if (req->protocol_type.len >= 0 &&
        (!g->protocol_type || !sl_str_eq_c(req->protocol_type, g->protocol_type))) {
        return E(INCONSISTENT_GROUP_PROTOCOL);
    }
    if (req->protocol_name.len >= 0 &&
        (!g->protocol_name || !sl_str_eq_c(req->protocol_name, g->protocol_name))) {
        return E(INCONSISTENT_GROUP_PROTOCOL);
    }
    return E(NONE);
}

/* The leader's SyncGroup: every member's assignment (missing ones empty) is written first. */
static void
sync_leader_store(broker_group_core *core, broker_group *g, const broker_group_sync_request *req) {
    sync_data *d = SL_NEW(sync_data);
    d->count = g->member_count;
    d->member_ids = sl_calloc((size_t)d->count + 1, sizeof(char *));
    d->assignments = sl_calloc((size_t)d->count + 1, sizeof(uint8_t *));
    d->lens = sl_calloc((size_t)d->count + 1, sizeof(int32_t));
    sl_bytes *record = sl_calloc((size_t)d->count + 1, sizeof(sl_bytes));
    int32_t missing = 0;
    for (int32_t i = 0; i < d->count; i++) {
        const broker_group_member *m = g->members[i];
        d->member_ids[i] = sl_strdup(m->member_id);
        sl_bytes a = { NULL, -1 };
        for (int32_t k = 0; k < req->assignment_count; k++) { /* the last entry wins */
            if (sl_str_eq_c(req->assignment_members[k], m->member_id)) a = req->assignments[k];
        }
        missing += a.len < 0;
        if (a.len > 0) {
            d->assignments[i] = sl_malloc((size_t)a.len);
            memcpy(d->assignments[i], a.ptr, (size_t)a.len);
            d->lens[i] = a.len;
        }
        record[i] = (sl_bytes){ d->assignments[i], d->lens[i] };
    }
    if (missing) {
        SL_LOG(SL_WARN, "group", "assignment_missing", "group=%s generation=%d members=%d", g->id,
               g->generation, missing);
    }
    broker_group_op *op = broker_group_op_new(core, BROKER_GROUP_OP_SYNC, g);
    op->data = d;
    broker_group_store(core, g, record, op);
    sl_free(record);
}

void broker_group_core_sync(broker_group_core *core,
                            const broker_group_sync_request *req,
                            broker_group_time now,
                            void *waiter) {
    int16_t err = broker_group_status(core, req->group_id, false);
    /* the rebalance state was lost with the old coordinator: make the member rejoin */
    if (err == E(COORDINATOR_LOAD_IN_PROGRESS)) err = E(REBALANCE_IN_PROGRESS);
    broker_group *g = err ? NULL : broker_group_core_find(core, req->group_id);
    if (!err && !g) err = E(UNKNOWN_MEMBER_ID);
    if (!err) err = sync_validate(g, req);
    if (!err && g->state == BROKER_GROUP_EMPTY) err = E(UNKNOWN_MEMBER_ID);
    if (!err && g->state == BROKER_GROUP_PREPARING_REBALANCE) err = E(REBALANCE_IN_PROGRESS);
    if (err) {
        sync_fail(core, waiter, err);
        return;
    }
    broker_group_member *m = broker_group_member_find(g, req->member_id);
    m->pending_sync = false;
    if (g->state == BROKER_GROUP_STABLE) {
        broker_group_sync_result res = { E(NONE),
                                         sl_str_c(g->protocol_type),
                                         sl_str_c(g->protocol_name),
                                         { m->assignment, m->assignment_len } };
        if (waiter) core->cb.sync_done(core->cb.ctx, waiter, &res);
        broker_group_heartbeat_schedule(g, m, m->session_timeout_ms, now);
        return;
    }
    SL_ASSERT(g->state == BROKER_GROUP_COMPLETING_REBALANCE);
    if (m->awaiting_sync && m->sync_waiter && m->sync_waiter != waiter) {
        sync_fail(core, m->sync_waiter, E(REBALANCE_IN_PROGRESS)); /* superseded */
    }
    m->awaiting_sync = true;
    m->sync_waiter = waiter;
    if (g->leader_id && strcmp(g->leader_id, m->member_id) == 0) sync_leader_store(core, g, req);
}

static void propagate_assignment(broker_group_core *core,
                                 broker_group *g,
                                 int16_t error,
                                 broker_group_time now) {
    for (int32_t i = 0; i < g->member_count; i++) {
        broker_group_member *m = g->members[i];
        broker_group_sync_result res = {
            error, SL_STR_NULL, SL_STR_NULL, { m->assignment, m->assignment_len }
        };
        if (!error) {
            res.protocol_type = sl_str_c(g->protocol_type);
            res.protocol_name = sl_str_c(g->protocol_name);
        }
        /* a member whose session ran out while waiting gets a fresh one with its answer */
        if (broker_group_member_sync_send(core, m, &res)) {
            broker_group_heartbeat_schedule(g, m, m->session_timeout_ms, now);
        }
    }
}

void broker_group_propagate_error(broker_group_core *core,
                                  broker_group *g,
                                  int16_t error,
                                  broker_group_time now) {
    SL_ASSERT(g->state == BROKER_GROUP_COMPLETING_REBALANCE);
    for (int32_t i = 0; i < g->member_count; i++) {
        broker_group_member_set_assignment(g->members[i], (sl_bytes){ NULL, 0 });
    }
    propagate_assignment(core, g, error, now);
}

/* The leader's assignment was written (or not): hand it out and become Stable. */
void broker_group_sync_stored(broker_group_core *core,
                              broker_group_op *op,
                              int16_t error,
                              broker_group_time now) {
    sync_data *d = op->data;
    broker_group *g = broker_group_op_group(core, op);
    /* a member joined or left meanwhile: that rebalance supersedes this one */
    if (!g || g->state != BROKER_GROUP_COMPLETING_REBALANCE || g->generation != op->generation) {
        return;
    }
    if (error) {
        SL_LOG(SL_WARN, "group", "assignment_store_failed", "group=%s generation=%d error=%s",
               g->id, g->generation, protocol_error_name(error));
        broker_group_propagate_error(core, g, broker_group_store_error(error), now);
        broker_group_maybe_prepare_rebalance(core, g, "assignment store failed", now);
        return;
    }
    for (int32_t i = 0; i < g->member_count; i++) {
        broker_group_member *m = g->members[i];
        sl_bytes a = { NULL, 0 };
        for (int32_t k = 0; k < d->count; k++) {
            if (strcmp(d->member_ids[k], m->member_id) == 0) {
                a = (sl_bytes){ d->assignments[k], d->lens[k] };
            }
        }
        broker_group_member_set_assignment(m, a);
    }
    propagate_assignment(core, g, E(NONE), now);
    broker_group_transition(g, BROKER_GROUP_STABLE, now);
    SL_LOG(SL_INFO, "group", "rebalance_completed", "group=%s generation=%d members=%d", g->id,
           g->generation, g->member_count);
}

/* ---------------- Heartbeat, LeaveGroup ---------------- */

int16_t broker_group_core_heartbeat(broker_group_core *core,
                                    sl_str group_id,
                                    sl_str member_id,
                                    sl_str group_instance_id,
                                    int32_t generation,
                                    broker_group_time now) {
    int16_t err = broker_group_status(core, group_id, false);
    if (err == E(COORDINATOR_LOAD_IN_PROGRESS)) return E(NONE); /* Kafka answers blindly */
    if (err) return err;
    broker_group *g = broker_group_core_find(core, group_id);
    if (!g) return E(UNKNOWN_MEMBER_ID);
    if (g->state == BROKER_GROUP_DEAD) return E(COORDINATOR_NOT_AVAILABLE);
    err = broker_group_validate_member(g, member_id, group_instance_id);
    if (err) return err;
    if (generation != g->generation) return E(ILLEGAL_GENERATION);
    broker_group_member *m = broker_group_member_find(g, member_id);
    switch (g->state) {
    case BROKER_GROUP_EMPTY:
        return E(UNKNOWN_MEMBER_ID);
    case BROKER_GROUP_PREPARING_REBALANCE:
        broker_group_heartbeat_schedule(g, m, m->session_timeout_ms, now);
        return E(REBALANCE_IN_PROGRESS);
    default:
        /* CompletingRebalance too: clients heartbeat between JoinGroup and SyncGroup */
        broker_group_heartbeat_schedule(g, m, m->session_timeout_ms, now);
        return E(NONE);
    }
}

/* Kafka's removeMemberAndUpdateGroup. */
void broker_group_member_leave(broker_group_core *core,
                               broker_group *g,
                               broker_group_member *m,
                               const char *reason,
                               broker_group_time now) {
    SL_LOG(SL_INFO, "group", "member_removed", "group=%s member=%s reason=%s", g->id, m->member_id,
           reason);
    broker_group_member_remove(core, g, m);
    switch (g->state) {
    case BROKER_GROUP_STABLE:
    case BROKER_GROUP_COMPLETING_REBALANCE:
        broker_group_maybe_prepare_rebalance(core, g, reason, now);
        break;
    case BROKER_GROUP_PREPARING_REBALANCE:
        broker_group_try_complete_join(core, g, now);
        break;
    default:
        break;
    }
}

static int16_t leave_one(broker_group_core *core,
                         broker_group *g,
                         broker_group_leave_member *lm,
                         broker_group_time now) {
    if (lm->member_id.len <= 0) {
        /* administrative removal by group.instance.id alone */
        broker_group_member *m = broker_group_member_by_instance(g, lm->group_instance_id);
        if (!m) return E(UNKNOWN_MEMBER_ID);
        broker_group_member_leave(core, g, m, "leave", now);
        return E(NONE);
    }
    if (broker_group_pending_remove(g, lm->member_id)) {
        broker_group_try_complete_join(core, g, now);
        return E(NONE);
    }
    int16_t err = broker_group_validate_member(g, lm->member_id, lm->group_instance_id);
    if (err) return err;
    broker_group_member_leave(core, g, broker_group_member_find(g, lm->member_id), "leave", now);
    return E(NONE);
}

int16_t broker_group_core_leave(broker_group_core *core,
                                sl_str group_id,
                                broker_group_leave_member *members,
                                int32_t count,
                                broker_group_time now) {
    int16_t err = broker_group_status(core, group_id, false);
    if (err) return err;
    broker_group *g = broker_group_core_find(core, group_id);
    if (g && g->state == BROKER_GROUP_DEAD) return E(COORDINATOR_NOT_AVAILABLE);
    for (int32_t i = 0; i < count; i++) {
        members[i].error = g ? leave_one(core, g, &members[i], now) : E(UNKNOWN_MEMBER_ID);
    }
    return E(NONE);
}

/* ---------------- timers ---------------- */

/* Kafka's MemberMetadata.hasSatisfiedHeartbeat, right after a timer fired. */
static bool heartbeat_satisfied(const broker_group_member *m) {
    return !m->is_new && (m->awaiting_join || m->awaiting_sync);
}

static void tick_pending_members(broker_group_core *core, broker_group *g, broker_group_time now) {
    bool removed = false;
    for (int32_t i = 0; i < g->pending_count;) {
        if (g->pending_deadline_ms[i] > now.mono_ms) {
            i++;
            continue;
        }
        SL_LOG(SL_INFO, "group", "pending_member_expired", "group=%s member=%s", g->id,
               g->pending_members[i]);
        broker_group_pending_remove(g, sl_str_c(g->pending_members[i]));
        removed = true;
    }
    if (removed) broker_group_try_complete_join(core, g, now);
}

static void tick_heartbeats(broker_group_core *core, broker_group *g, broker_group_time now) {
    /* each pass clears a timer or removes a member, so this ends */
    for (int32_t i = 0; i < g->member_count;) {
        broker_group_member *m = g->members[i];
        if (m->heartbeat_deadline_ms < 0 || now.mono_ms < m->heartbeat_deadline_ms) {
            i++;
            continue;
        }
        m->heartbeat_deadline_ms = -1;
        if (heartbeat_satisfied(m)) {
            i++;
            continue;
        }
        broker_group_member_leave(core, g, m, "session timeout", now);
        i = 0;
    }
}

static void tick_pending_sync(broker_group_core *core, broker_group *g, broker_group_time now) {
    if (g->sync_deadline_ms < 0 || now.mono_ms < g->sync_deadline_ms) return;
    g->sync_deadline_ms = -1;
    if (g->generation != g->sync_generation) return;
    if (g->state != BROKER_GROUP_COMPLETING_REBALANCE && g->state != BROKER_GROUP_STABLE) return;
    int32_t removed = 0;
    for (int32_t i = 0; i < g->member_count;) {
        broker_group_member *m = g->members[i];
        if (!m->pending_sync) {
            i++;
            continue;
        }
        SL_LOG(SL_INFO, "group", "member_sync_expired", "group=%s member=%s", g->id, m->member_id);
        broker_group_member_remove(core, g, m);
        removed++;
    }
    if (removed) broker_group_prepare_rebalance(core, g, "pending sync expired", now);
}

static void group_tick(broker_group_core *core, broker_group *g, broker_group_time now) {
    if (g->state == BROKER_GROUP_PREPARING_REBALANCE && g->join_deadline_ms >= 0 &&
        now.mono_ms >= g->join_deadline_ms) {
        broker_group_join_expired(core, g, now);
    }
    tick_pending_members(core, g, now);
    tick_heartbeats(core, g, now);
    tick_pending_sync(core, g, now);
}

void broker_group_core_tick(broker_group_core *core, broker_group_time now) {
    /* timers never remove groups, so the map is stable while it is walked */
    for (size_t i = 0; i < core->groups.cap; i++) {
        if (!sl_map_slot_used(&core->groups, i)) continue;
        group_tick(core, core->groups.slots[i].value, now);
    }
}

/* ---------------- lookups and cancellation ---------------- */

int16_t broker_group_core_describe(broker_group_core *core, sl_str group_id, broker_group **g_out) {
    *g_out = NULL;
    int16_t err = broker_group_status(core, group_id, true);
    if (err) return err;
    *g_out = broker_group_core_find(core, group_id);
    return E(NONE);
}

int16_t broker_group_core_list_error(const broker_group_core *core) {
    for (int32_t p = 0; p < core->partition_count; p++) {
        if (core->partition_state[p] == BROKER_GROUP_PARTITION_LOADING) {
            return E(COORDINATOR_LOAD_IN_PROGRESS);
        }
    }
    return E(NONE);
}

void broker_group_core_cancel(broker_group_core *core, void *waiter) {
    if (!waiter) return;
    for (size_t i = 0; i < core->groups.cap; i++) {
        if (!sl_map_slot_used(&core->groups, i)) continue;
        broker_group *g = core->groups.slots[i].value;
        for (int32_t k = 0; k < g->member_count; k++) {
            broker_group_member *m = g->members[k];
            if (m->join_waiter == waiter) m->join_waiter = NULL;
            if (m->sync_waiter == waiter) m->sync_waiter = NULL;
        }
    }
    broker_group_commit_cancel(core, waiter);
}
