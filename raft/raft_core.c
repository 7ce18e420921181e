/* raft_core.c — roles, elections and timers of the pure KRaft state machine.
 *
 * Roles and transitions (KIP-595 with KIP-996 pre-vote):
 *
 *   unattached --election timeout--> prospective --majority of pre-votes--> candidate
 *   candidate --majority of votes--> leader       candidate --timeout--> prospective
 *   prospective --timeout--> follower of the leader it remembers, else a new round
 *   follower --fetch timeout--> prospective (observers: unattached, rediscover)
 *   leader --resign / check-quorum fails--> resigned --timeout--> prospective
 *   any --message from a higher epoch--> follower (leader known) or unattached
 *   unattached/prospective/candidate --learn this epoch's leader--> follower
 *
 * Only prospective → candidate increments the epoch, and it needs a majority of
 * pre-votes; a voter grants a pre-vote only if the asker's log is at least as up to
 * date as its own and it is not following a live leader (it has had no successful
 * fetch from the leader in this epoch, or the leader resigned). So a partitioned or
 * flapping voter cannot bump epochs and depose a healthy leader.
 *
 * A real vote is granted at most once per epoch (voted_id is persisted before the
 * response leaves, per the durability contract in raft.h) and only to a candidate
 * whose durable log is at least as up to date as ours. Candidates claim only durable
 * entries, so a committed entry can never be claimed away by a crash. */
#include "raft/raft_int.h"

#include "common/sl_alloc.h"
#include "common/sl_assert.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <string.h>

/* ------------------------------------------------------------------ helpers */

int32_t raft_voter_index(const raft_node *node, int32_t id) {
    for (int32_t i = 0; i < node->voter_count; i++) {
        if (node->cfg.voters[i] == id) return i;
    }
    return -1;
}

int32_t raft_majority(const raft_node *node) {
    return node->voter_count / 2 + 1;
}

int64_t raft_durable_end(const raft_node *node) {
    if (RAFT_FP(node, RAFT_FP_SKIP_DURABLE)) return raft_log_end(&node->log);
    return node->log.durable_end;
}

int64_t raft_election_timeout(raft_node *node) {
    int64_t t = node->cfg.election_timeout_ms;
    return t + (int64_t)sl_rand_below(&node->rng, (uint64_t)t);
}

static int popcount32(uint32_t v) {
    return __builtin_popcount(v);
}

static bool is_valid_leader(const raft_node *node, int32_t id) {
    return id != node->cfg.node_id && raft_voter_index(node, id) >= 0;
}

static void set_quorum_state(raft_node *node, int32_t epoch, int32_t voted_id, int32_t leader_id) {
    SL_ASSERT(epoch >= node->epoch);
    if (epoch == node->epoch && voted_id == node->voted_id && leader_id == node->leader_id) {
        return;
    }
    node->epoch = epoch;
    node->voted_id = voted_id;
    node->leader_id = leader_id;
    raft_out_state_changed(node);
}

/* Forget everything that belongs to the role being left. A leader's parked fetches are
 * answered (with the new epoch and leader) so fetchers need not wait for a timeout. */
static void role_reset(raft_node *node) {
    if (node->role == RAFT_ROLE_LEADER) {
        for (int32_t i = 0; i < node->parked_count; i++) {
            raft_parked *p = &node->parked[i];
            raft_msg req = { .type = RAFT_MSG_FETCH_REQUEST, .from = p->from, .req_id = p->req_id };
            raft_msg_reply(node, &req, RAFT_MSG_FETCH_RESPONSE, RAFT_ERR_NOT_LEADER_OR_FOLLOWER);
        }
    }
    node->parked_count = 0;
    node->granted_mask = 0;
    node->answered_mask = 0;
    node->end_acked_mask = 0;
    node->successor_count = 0;
    node->election_deadline_ms = 0;
    node->fetch_deadline_ms = 0;
    node->resend_ms = 0;
    node->fetched_from_leader = false;
    node->leader_resigned = false;
    node->leader_unreachable = false;
    node->fetch_deadline_saved = 0;
    raft_fetcher_reset(node);
}

static void log_role(const raft_node *node, raft_role from) {
    SL_LOG(SL_INFO, "raft", "role_change", "node=%d from=%s to=%s epoch=%d leader=%d voted=%d",
           node->cfg.node_id, raft_role_name(from), raft_role_name(node->role), node->epoch,
           node->leader_id, node->voted_id);
}

/* ------------------------------------------------------------------ transitions */

void raft_become_unattached(raft_node *node, int32_t epoch) {
    raft_role from = node->role;
    int32_t voted = epoch == node->epoch ? node->voted_id : RAFT_NODE_NONE;
    set_quorum_state(node, epoch, voted, RAFT_NODE_NONE);
    role_reset(node);
    node->role = RAFT_ROLE_UNATTACHED;
    if (node->is_voter) node->election_deadline_ms = node->now_ms + raft_election_timeout(node);
    log_role(node, from);
}

/* Record a vote in this epoch (it reaches disk before the response leaves) and wait
 * for the candidate to win: the election timer restarts. */
static void become_voted(raft_node *node, int32_t candidate) {
    raft_role from = node->role;
    set_quorum_state(node, node->epoch, candidate, RAFT_NODE_NONE);
    role_reset(node);
    node->role = RAFT_ROLE_UNATTACHED;
    node->election_deadline_ms = node->now_ms + raft_election_timeout(node);
    if (from != RAFT_ROLE_UNATTACHED) log_role(node, from);
}

/* A follower's connection to its leader is down (raft_node_peer_unreachable): it will
 * look for another leader after a random delay in [0, election_timeout / 2) rather than
 * the whole fetch timeout, and grants pre-votes meanwhile. */
static void follower_leader_lost(raft_node *node) {
    node->leader_unreachable = true;
    node->fetch_deadline_saved = node->fetch_deadline_ms;
    uint64_t spread = (uint64_t)node->cfg.election_timeout_ms / 2;
    int64_t at = node->now_ms + (int64_t)sl_rand_below(&node->rng, spread > 0 ? spread : 1);
    if (at < node->fetch_deadline_ms) node->fetch_deadline_ms = at;
    SL_LOG(SL_INFO, "raft", "leader_unreachable", "node=%d leader=%d epoch=%d in_ms=%lld",
           node->cfg.node_id, node->leader_id, node->epoch,
           (long long)(node->fetch_deadline_ms - node->now_ms));
}

void raft_become_follower(raft_node *node, int32_t epoch, int32_t leader_id) {
    SL_ASSERT(is_valid_leader(node, leader_id));
    raft_role from = node->role;
    int32_t voted = epoch == node->epoch ? node->voted_id : RAFT_NODE_NONE;
    set_quorum_state(node, epoch, voted, leader_id);
    role_reset(node);
    node->role = RAFT_ROLE_FOLLOWER;
    node->fetch_deadline_ms = node->now_ms + node->cfg.fetch_timeout_ms;
    log_role(node, from);
    /* An observer told of a leader whose connection is known to be down (a voter that has
     * not noticed yet names the leader that just died) looks again soon rather than after
     * the whole fetch timeout. Not voters: a voter returning to a live leader after a
     * refused pre-vote would ask again and again while its connection is down, and each
     * return to following clears fetched_from_leader, which lets it grant pre-votes;
     * the other voters' own hints elect a new leader if this one is really gone. */
    int32_t index = raft_voter_index(node, leader_id);
    if (!node->is_voter && ((node->unreachable_mask >> index) & 1u)) follower_leader_lost(node);
}

static void send_vote_requests(raft_node *node, bool pre_vote) {
    int64_t durable = raft_durable_end(node);
    int32_t last_epoch = raft_log_epoch_at(&node->log, durable - 1);
    SL_ASSERT(last_epoch >= 0);
    for (int32_t i = 0; i < node->voter_count; i++) {
        if ((node->answered_mask >> i) & 1u) continue;
        raft_msg *msg =
            raft_msg_new(node, RAFT_MSG_VOTE_REQUEST, node->cfg.voters[i], ++node->next_req_id);
        msg->leader_id = RAFT_NODE_NONE;
        msg->vote = (raft_vote_request){ .last_epoch = last_epoch,
                                         .last_offset = durable,
                                         .pre_vote = pre_vote };
    }
    node->resend_ms = node->now_ms + node->cfg.request_timeout_ms;
}

static void become_leader(raft_node *node) {
    raft_role from = node->role;
    uint32_t granted = node->granted_mask;
    set_quorum_state(node, node->epoch, node->cfg.node_id, node->cfg.node_id);
    role_reset(node);
    node->role = RAFT_ROLE_LEADER;
    node->granted_mask = granted; /* recorded in the LeaderChange entry */
    log_role(node, from);
    raft_leader_start(node);
}

static void become_candidate(raft_node *node) {
    raft_role from = node->role;
    SL_ASSERT(node->is_voter);
    if (node->epoch == INT32_MAX) {
        /* a peer pushed the epoch to its limit: no election can follow (operator) */
        SL_LOG(SL_ERROR, "raft", "epoch_exhausted", "node=%d", node->cfg.node_id);
        return;
    }
    set_quorum_state(node, node->epoch + 1, node->cfg.node_id, RAFT_NODE_NONE);
    role_reset(node);
    node->role = RAFT_ROLE_CANDIDATE;
    node->granted_mask = 1u << node->self_index;
    node->answered_mask = node->granted_mask;
    node->election_deadline_ms = node->now_ms + raft_election_timeout(node);
    log_role(node, from);
    if (popcount32(node->granted_mask) >= raft_majority(node)) {
        become_leader(node);
        return;
    }
    send_vote_requests(node, false);
}

static void become_prospective(raft_node *node) {
    raft_role from = node->role;
    SL_ASSERT(node->is_voter);
    role_reset(node);
    node->role = RAFT_ROLE_PROSPECTIVE;
    node->granted_mask = 1u << node->self_index;
    node->answered_mask = node->granted_mask;
    node->election_deadline_ms = node->now_ms + raft_election_timeout(node);
    if (from != RAFT_ROLE_PROSPECTIVE) log_role(node, from);
    if (popcount32(node->granted_mask) >= raft_majority(node)) {
        become_candidate(node);
        return;
    }
    send_vote_requests(node, true);
}

/* Voters ordered by replicated offset, best first (Kafka's preferred successors). */
static void resign_pick_successors(raft_node *node) {
    node->successor_count = 0;
    for (int32_t i = 0; i < node->voter_count; i++) {
        if (i == node->self_index) continue;
        int32_t pos = node->successor_count++;
        while (pos > 0) {
            int32_t prev = raft_voter_index(node, node->successors[pos - 1]);
            if (node->replicas[prev].end_offset >= node->replicas[i].end_offset) break;
            node->successors[pos] = node->successors[pos - 1];
            pos--;
        }
        node->successors[pos] = node->cfg.voters[i];
    }
}

static void send_end_epoch(raft_node *node) {
    for (int32_t i = 0; i < node->voter_count; i++) {
        if ((node->end_acked_mask >> i) & 1u) continue;
        raft_msg *msg = raft_msg_new(node, RAFT_MSG_END_EPOCH_REQUEST, node->cfg.voters[i],
                                     ++node->next_req_id);
        msg->end_epoch.successor_count = node->successor_count;
        memcpy(msg->end_epoch.successors, node->successors,
               (size_t)node->successor_count * sizeof(int32_t));
    }
    node->resend_ms = node->now_ms + node->cfg.request_timeout_ms;
}

void raft_become_resigned(raft_node *node) {
    raft_role from = node->role;
    SL_ASSERT(from == RAFT_ROLE_LEADER);
    resign_pick_successors(node);
    int32_t successors[RAFT_VOTERS_MAX];
    int32_t successor_count = node->successor_count;
    memcpy(successors, node->successors, sizeof(successors));
    role_reset(node);
    node->role = RAFT_ROLE_RESIGNED;
    memcpy(node->successors, successors, sizeof(successors));
    node->successor_count = successor_count;
    node->end_acked_mask = 1u << node->self_index;
    node->election_deadline_ms = node->now_ms + raft_election_timeout(node);
    log_role(node, from);
    send_end_epoch(node);
}

bool raft_observe_epoch(raft_node *node, int32_t epoch, int32_t leader_id) {
    if (epoch < node->epoch) return true;
    bool leader_ok = is_valid_leader(node, leader_id);
    if (epoch > node->epoch) {
        if (leader_ok) {
            raft_become_follower(node, epoch, leader_id);
        } else {
            raft_become_unattached(node, epoch);
        }
        return false;
    }
    if (!leader_ok) return false;
    switch (node->role) {
    case RAFT_ROLE_UNATTACHED:
    case RAFT_ROLE_CANDIDATE:
        raft_become_follower(node, epoch, leader_id);
        break;
    case RAFT_ROLE_PROSPECTIVE:
        /* one that remembers the leader it lost touch with goes back to it only when its
         * election times out (KIP-996): a peer naming that leader proves nothing */
        if (node->leader_id == RAFT_NODE_NONE) raft_become_follower(node, epoch, leader_id);
        break;
    default:
        /* follower of another leader, leader, resigned: two leaders in one epoch cannot
         * happen; a peer saying so is wrong, and is ignored */
        if (node->leader_id != leader_id) {
            SL_LOG(SL_WARN, "raft", "leader_conflict", "node=%d epoch=%d ours=%d theirs=%d",
                   node->cfg.node_id, epoch, node->leader_id, leader_id);
        }
        break;
    }
    return false;
}

/* ------------------------------------------------------------------ votes */

static bool log_is_up_to_date(const raft_node *node, int32_t last_epoch, int64_t last_offset) {
    int32_t my_epoch = raft_log_last_epoch(&node->log);
    if (last_epoch != my_epoch) return last_epoch > my_epoch;
    return last_offset >= raft_log_end(&node->log);
}

static bool can_grant_pre_vote(const raft_node *node, bool up_to_date) {
    if (node->role == RAFT_ROLE_LEADER) return false;
    if (node->role == RAFT_ROLE_FOLLOWER && node->fetched_from_leader && !node->leader_resigned &&
        !node->leader_unreachable) {
        return false;
    }
    return up_to_date;
}

static bool can_grant_vote(const raft_node *node, int32_t candidate, bool up_to_date) {
    if (node->leader_id != RAFT_NODE_NONE) return false;
    bool double_vote = RAFT_FP(node, RAFT_FP_DOUBLE_VOTE) && node->role != RAFT_ROLE_CANDIDATE;
    if (node->voted_id != RAFT_NODE_NONE && node->voted_id != candidate && !double_vote) {
        return false;
    }
    if (node->voted_id == candidate) return true;
    return up_to_date;
}

static int16_t vote_request_error(const raft_node *node, const raft_msg *msg) {
    const raft_vote_request *v = &msg->vote;
    if (!node->is_voter || raft_voter_index(node, msg->from) < 0) {
        return RAFT_ERR_INCONSISTENT_VOTER_SET;
    }
    /* KIP-996: a pre-vote keeps the asker's epoch, so its log may end in that epoch */
    bool bad_epoch = v->pre_vote ? v->last_epoch > msg->epoch : v->last_epoch >= msg->epoch;
    if (msg->epoch < 0 || v->last_epoch < 0 || v->last_offset < 0 || bad_epoch) {
        return RAFT_ERR_INVALID_REQUEST;
    }
    if (msg->epoch < node->epoch) return RAFT_ERR_FENCED_LEADER_EPOCH;
    return RAFT_ERR_NONE;
}

static void handle_vote_request(raft_node *node, const raft_msg *msg) {
    const raft_vote_request *v = &msg->vote;
    int16_t error = vote_request_error(node, msg);
    bool granted = false;
    if (error == RAFT_ERR_NONE) {
        if (msg->epoch > node->epoch) raft_become_unattached(node, msg->epoch);
        bool up_to_date = log_is_up_to_date(node, v->last_epoch, v->last_offset);
        if (v->pre_vote) {
            granted = can_grant_pre_vote(node, up_to_date);
        } else {
            granted = can_grant_vote(node, msg->from, up_to_date);
            if (granted && node->voted_id != msg->from) become_voted(node, msg->from);
        }
    }
    raft_msg *reply = raft_msg_reply(node, msg, RAFT_MSG_VOTE_RESPONSE, error);
    reply->vote_resp = (raft_vote_response){ .granted = granted, .pre_vote = v->pre_vote };
}

static void handle_vote_response(raft_node *node, const raft_msg *msg) {
    int32_t index = raft_voter_index(node, msg->from);
    if (index < 0 || !node->is_voter) return;
    if (raft_observe_epoch(node, msg->epoch, msg->leader_id)) return;
    if (msg->error != RAFT_ERR_NONE || msg->epoch != node->epoch) return;
    bool pre_vote = msg->vote_resp.pre_vote;
    bool counting = (node->role == RAFT_ROLE_PROSPECTIVE && pre_vote) ||
                    (node->role == RAFT_ROLE_CANDIDATE && !pre_vote);
    if (!counting) return;
    node->answered_mask |= 1u << index;
    if (msg->vote_resp.granted) node->granted_mask |= 1u << index;
    if (popcount32(node->granted_mask) < raft_majority(node)) {
        int32_t refused = popcount32(node->answered_mask & ~node->granted_mask);
        if (node->role == RAFT_ROLE_PROSPECTIVE && is_valid_leader(node, node->leader_id) &&
            refused > node->voter_count - raft_majority(node)) {
            /* KIP-996: a majority still follows the leader we lost touch with (a
             * connection blip, a one-way partition): go back to it now */
            raft_become_follower(node, node->epoch, node->leader_id);
        }
        return;
    }
    if (node->role == RAFT_ROLE_PROSPECTIVE) {
        become_candidate(node);
    } else {
        become_leader(node);
    }
}

/* ------------------------------------------------------------------ begin / end epoch */

static int16_t leader_request_error(const raft_node *node, const raft_msg *msg) {
    if (!node->is_voter) return RAFT_ERR_INCONSISTENT_VOTER_SET;
    if (!is_valid_leader(node, msg->from) || msg->leader_id != msg->from || msg->epoch < 0) {
        return RAFT_ERR_INVALID_REQUEST;
    }
    if (msg->epoch < node->epoch) return RAFT_ERR_FENCED_LEADER_EPOCH;
    if (msg->epoch == node->epoch && node->leader_id != RAFT_NODE_NONE &&
        node->leader_id != msg->from) {
        return RAFT_ERR_INVALID_REQUEST; /* another leader is known for this epoch */
    }
    return RAFT_ERR_NONE;
}

static void handle_begin_epoch_request(raft_node *node, const raft_msg *msg) {
    int16_t error = leader_request_error(node, msg);
    if (error == RAFT_ERR_NONE && (msg->epoch > node->epoch || node->role != RAFT_ROLE_FOLLOWER)) {
        raft_become_follower(node, msg->epoch, msg->from);
    }
    raft_msg_reply(node, msg, RAFT_MSG_BEGIN_EPOCH_RESPONSE, error);
}

static void handle_begin_epoch_response(raft_node *node, const raft_msg *msg) {
    int32_t index = raft_voter_index(node, msg->from);
    if (index < 0) return;
    if (raft_observe_epoch(node, msg->epoch, msg->leader_id)) return;
    if (node->role == RAFT_ROLE_LEADER && msg->epoch == node->epoch &&
        msg->error == RAFT_ERR_NONE) {
        node->replicas[index].acked = true;
    }
}

/* Kafka's strict exponential backoff: the first successor runs at once, later ones wait
 * longer, so the best-replicated voter usually wins. */
static int64_t end_epoch_delay(const raft_node *node, const raft_end_epoch_request *e) {
    int64_t max_ms = node->cfg.election_timeout_ms;
    int32_t count = e->successor_count;
    for (int32_t pos = 0; pos < count; pos++) {
        if (e->successors[pos] != node->cfg.node_id) continue;
        if (pos == 0) return 0;
        int64_t base = max_ms >> (count - 1 < 30 ? count - 1 : 30);
        int64_t delay = base << (pos - 1 < 30 ? pos - 1 : 30);
        return delay < max_ms ? delay : max_ms;
    }
    return max_ms;
}

static void handle_end_epoch_request(raft_node *node, const raft_msg *msg) {
    int16_t error = leader_request_error(node, msg);
    int32_t count = msg->end_epoch.successor_count;
    if (error == RAFT_ERR_NONE && (count < 0 || count > RAFT_VOTERS_MAX)) {
        error = RAFT_ERR_INVALID_REQUEST;
    }
    if (error == RAFT_ERR_NONE) {
        if (msg->epoch > node->epoch || node->leader_id == RAFT_NODE_NONE) {
            raft_become_follower(node, msg->epoch, msg->from);
        }
        if (node->role == RAFT_ROLE_FOLLOWER) {
            node->leader_resigned = true;
            int64_t at = node->now_ms + end_epoch_delay(node, &msg->end_epoch);
            if (at < node->fetch_deadline_ms) node->fetch_deadline_ms = at;
        }
    }
    raft_msg_reply(node, msg, RAFT_MSG_END_EPOCH_RESPONSE, error);
}

static void handle_end_epoch_response(raft_node *node, const raft_msg *msg) {
    int32_t index = raft_voter_index(node, msg->from);
    if (index < 0) return;
    if (raft_observe_epoch(node, msg->epoch, msg->leader_id)) return;
    if (node->role == RAFT_ROLE_RESIGNED && msg->epoch == node->epoch &&
        msg->error == RAFT_ERR_NONE) {
        node->end_acked_mask |= 1u << index;
    }
}

/* ------------------------------------------------------------------ timers */

static void tick_leader(raft_node *node) {
    int32_t live = 1;
    for (int32_t i = 0; i < node->voter_count; i++) {
        if (i == node->self_index) continue;
        if (node->now_ms - node->replicas[i].last_fetch_ms < node->cfg.fetch_timeout_ms) live++;
    }
    if (live < raft_majority(node)) {
        /* check-quorum: a leader cut off from a majority steps down */
        SL_LOG(SL_INFO, "raft", "check_quorum_failed", "node=%d epoch=%d live=%d",
               node->cfg.node_id, node->epoch, live);
        raft_become_resigned(node);
        return;
    }
    if (node->now_ms >= node->resend_ms) {
        for (int32_t i = 0; i < node->voter_count; i++) {
            if (node->replicas[i].acked) continue;
            raft_msg_new(node, RAFT_MSG_BEGIN_EPOCH_REQUEST, node->cfg.voters[i],
                         ++node->next_req_id);
        }
        node->resend_ms = node->now_ms + node->cfg.request_timeout_ms;
    }
    raft_leader_complete_parked(node);
}

static void tick_timers(raft_node *node) {
    bool election_due =
        node->election_deadline_ms > 0 && node->now_ms >= node->election_deadline_ms;
    bool resend_due = node->resend_ms > 0 && node->now_ms >= node->resend_ms;
    switch (node->role) {
    case RAFT_ROLE_LEADER:
        tick_leader(node);
        break;
    case RAFT_ROLE_FOLLOWER:
        if (node->now_ms >= node->fetch_deadline_ms) {
            if (node->is_voter) {
                become_prospective(node);
            } else {
                raft_become_unattached(node, node->epoch);
            }
        }
        break;
    case RAFT_ROLE_UNATTACHED:
        if (election_due && node->is_voter) become_prospective(node);
        break;
    case RAFT_ROLE_PROSPECTIVE:
    case RAFT_ROLE_CANDIDATE:
        if (election_due && node->role == RAFT_ROLE_PROSPECTIVE &&
            is_valid_leader(node, node->leader_id)) {
            /* no majority of pre-votes: try the remembered leader again (KIP-996) */
            raft_become_follower(node, node->epoch, node->leader_id);
        } else if (election_due) {
            become_prospective(node);
        } else if (resend_due) {
            send_vote_requests(node, node->role == RAFT_ROLE_PROSPECTIVE);
        }
        break;
    case RAFT_ROLE_RESIGNED:
        if (election_due) {
            become_prospective(node);
        } else if (resend_due) {
            send_end_epoch(node);
        }
        break;
    }
}

/* ------------------------------------------------------------------ invariants */

void raft_check_invariants(const raft_node *node) {
    const raft_log *log = &node->log;
    int64_t end = raft_log_end(log);
    SL_ASSERT(node->hw >= log->start_offset);
    SL_ASSERT(node->hw <= end);
    SL_ASSERT(log->durable_end >= log->start_offset);
    SL_ASSERT(log->durable_end <= end);
    SL_ASSERT(raft_log_last_epoch(log) <= node->epoch);
    SL_ASSERT(node->parked_count == 0 || node->role == RAFT_ROLE_LEADER);
    switch (node->role) {
    case RAFT_ROLE_UNATTACHED:
        SL_ASSERT(node->leader_id == RAFT_NODE_NONE);
        break;
    case RAFT_ROLE_PROSPECTIVE:
        SL_ASSERT(node->is_voter);
        break;
    case RAFT_ROLE_CANDIDATE:
        SL_ASSERT(node->is_voter);
        SL_ASSERT(node->voted_id == node->cfg.node_id);
        SL_ASSERT(node->leader_id == RAFT_NODE_NONE);
        break;
    case RAFT_ROLE_LEADER:
        SL_ASSERT(node->is_voter);
        SL_ASSERT(node->leader_id == node->cfg.node_id);
        SL_ASSERT(raft_log_last_epoch(log) == node->epoch);
        SL_ASSERT(node->epoch_start_offset < end);
        SL_ASSERT(node->epoch_start_offset < log->start_offset ||
                  raft_log_epoch_at(log, node->epoch_start_offset) == node->epoch);
        break;
    case RAFT_ROLE_FOLLOWER:
        SL_ASSERT(node->leader_id != RAFT_NODE_NONE);
        SL_ASSERT(node->leader_id != node->cfg.node_id);
        break;
    case RAFT_ROLE_RESIGNED:
        SL_ASSERT(node->is_voter);
        SL_ASSERT(node->leader_id == node->cfg.node_id);
        break;
    }
    SL_DASSERT(raft_log_is_valid(log));
}

static void input_begin(raft_node *node, int64_t now_ms) {
    if (now_ms > node->now_ms) node->now_ms = now_ms;
}

static void input_end(raft_node *node) {
    raft_fetcher_tick(node);
    raft_check_invariants(node);
}

/* ------------------------------------------------------------------ inputs */

int raft_node_step(raft_node *node, int64_t now_ms, const raft_msg *msg) {
    SL_RETURN_IF(msg->to != node->cfg.node_id, SL_E_INVALID, "to=%d", msg->to);
    SL_RETURN_IF(msg->from == node->cfg.node_id || msg->from < 0, SL_E_INVALID, "from=%d",
                   msg->from);
    input_begin(node, now_ms);
    switch (msg->type) {
    case RAFT_MSG_VOTE_REQUEST:
        handle_vote_request(node, msg);
        break;
    case RAFT_MSG_VOTE_RESPONSE:
        handle_vote_response(node, msg);
        break;
    case RAFT_MSG_BEGIN_EPOCH_REQUEST:
        handle_begin_epoch_request(node, msg);
        break;
    case RAFT_MSG_BEGIN_EPOCH_RESPONSE:
        handle_begin_epoch_response(node, msg);
        break;
    case RAFT_MSG_END_EPOCH_REQUEST:
        handle_end_epoch_request(node, msg);
        break;
    case RAFT_MSG_END_EPOCH_RESPONSE:
        handle_end_epoch_response(node, msg);
        break;
    case RAFT_MSG_FETCH_REQUEST:
        raft_handle_fetch_request(node, msg);
        break;
    case RAFT_MSG_FETCH_RESPONSE:
        raft_handle_fetch_response(node, msg);
        break;
    case RAFT_MSG_FETCH_SNAPSHOT_REQUEST:
        raft_handle_fetch_snapshot_request(node, msg);
        break;
    case RAFT_MSG_FETCH_SNAPSHOT_RESPONSE:
        raft_handle_fetch_snapshot_response(node, msg);
        break;
    default:
        return SL_E_INVALID;
    }
    input_end(node);
    return SL_OK;
}

void raft_node_tick(raft_node *node, int64_t now_ms) {
    input_begin(node, now_ms);
    tick_timers(node);
    input_end(node);
}

/* Connection loss is a hint, never a proof: it only moves a follower's pre-vote earlier
 * (follower_leader_lost) and lets it grant pre-votes. Pre-vote keeps that safe from
 * flapping: a leader that is still alive keeps the votes of the followers that still
 * fetch from it, so a blip on one connection cannot win an election. The delay is
 * random so that the followers of a dead leader do not all ask at once. */
void raft_node_peer_unreachable(raft_node *node, int64_t now_ms, int32_t id) {
    input_begin(node, now_ms);
    int32_t index = raft_voter_index(node, id);
    if (index >= 0) node->unreachable_mask |= 1u << index;
    if (node->fetch_in_flight && node->fetch_target == id) {
        node->fetch_in_flight = false; /* lost with the connection: ask again */
        node->fetch_next_ms = node->now_ms + node->cfg.retry_backoff_ms;
    }
    if (node->role == RAFT_ROLE_FOLLOWER && id == node->leader_id && !node->leader_unreachable) {
        follower_leader_lost(node);
        if (RAFT_FP(node, RAFT_FP_BLIP_ELECTION) && node->is_voter) become_candidate(node);
    }
    input_end(node);
}

void raft_node_peer_reachable(raft_node *node, int64_t now_ms, int32_t id) {
    input_begin(node, now_ms);
    int32_t index = raft_voter_index(node, id);
    if (index >= 0) node->unreachable_mask &= ~(1u << index);
    if (node->fetch_in_flight && node->fetch_target == id) {
        node->fetch_in_flight = false; /* it may have gone out on the dead connection */
        node->fetch_next_ms = node->now_ms;
    }
    if (node->role == RAFT_ROLE_FOLLOWER && id == node->leader_id && node->leader_unreachable) {
        node->leader_unreachable = false;
        if (node->fetch_deadline_saved > node->fetch_deadline_ms) {
            node->fetch_deadline_ms = node->fetch_deadline_saved;
        }
    }
    bool resending = node->role == RAFT_ROLE_PROSPECTIVE || node->role == RAFT_ROLE_CANDIDATE ||
                     node->role == RAFT_ROLE_RESIGNED || node->role == RAFT_ROLE_LEADER;
    if (resending && raft_voter_index(node, id) >= 0 && node->resend_ms > node->now_ms) {
        node->resend_ms = node->now_ms; /* unanswered requests to it go again at the next tick */
    }
    input_end(node);
}

int raft_node_propose(raft_node *node,
                      int64_t now_ms,
                      const void *data,
                      uint32_t size,
                      int64_t *offset_out,
                      int32_t *epoch_out) {
    input_begin(node, now_ms);
    if (node->role != RAFT_ROLE_LEADER) return SL_E_STATE;
    if (size > (uint32_t)node->cfg.entry_max_bytes) return SL_E_TOO_LARGE;
    int64_t end = raft_log_end(&node->log);
    if (end - node->hw >= node->cfg.uncommitted_max) return SL_AGAIN;
    raft_log_append(&node->log, node->epoch, RAFT_ENTRY_DATA, data, size);
    raft_out_append(node, end);
    raft_leader_complete_parked(node);
    *offset_out = end;
    *epoch_out = node->epoch;
    input_end(node);
    return SL_OK;
}

void raft_node_log_durable(raft_node *node,
                           int64_t now_ms,
                           int64_t end_offset,
                           int32_t last_epoch) {
    input_begin(node, now_ms);
    raft_log *log = &node->log;
    if (end_offset >= log->start_offset && end_offset <= raft_log_end(log) &&
        raft_log_epoch_at(log, end_offset - 1) == last_epoch && end_offset > log->durable_end) {
        log->durable_end = end_offset;
        if (node->role == RAFT_ROLE_LEADER) raft_leader_update_hw(node);
    }
    input_end(node);
}

int raft_node_snapshot_taken(
    raft_node *node, int64_t now_ms, int64_t end_offset, const void *data, size_t size) {
    input_begin(node, now_ms);
    if (size > (uint64_t)node->cfg.snapshot_max_bytes) return SL_E_TOO_LARGE;
    if (end_offset <= node->log.start_offset || end_offset > node->applied_hw) return SL_E_RANGE;
    uint8_t *copy = size > 0 ? sl_malloc(size) : NULL;
    if (size > 0) memcpy(copy, data, size);
    sl_free(node->snap_data);
    node->snap_data = copy;
    node->snap_size = size;
    raft_log_discard_prefix(&node->log, end_offset);
    raft_out_discard(node, end_offset);
    SL_LOG(SL_INFO, "raft", "snapshot_taken", "node=%d end_offset=%lld epoch=%d bytes=%zu",
           node->cfg.node_id, (long long)end_offset, node->log.start_epoch, size);
    input_end(node);
    return SL_OK;
}

int raft_node_resign(raft_node *node, int64_t now_ms) {
    input_begin(node, now_ms);
    if (node->role != RAFT_ROLE_LEADER) return SL_E_STATE;
    raft_become_resigned(node);
    input_end(node);
    return SL_OK;
}

/* ------------------------------------------------------------------ creation */

void raft_config_init(raft_config *cfg, int32_t node_id) {
    memset(cfg, 0, sizeof(*cfg));
    cfg->node_id = node_id;
    cfg->election_timeout_ms = 1000;
    cfg->fetch_timeout_ms = 2000;
    cfg->fetch_max_wait_ms = 500;
    cfg->request_timeout_ms = 2000;
    cfg->retry_backoff_ms = 20;
    cfg->fetch_max_bytes = 1 << 20;
    cfg->snapshot_chunk_bytes = 64 << 10;
    cfg->snapshot_max_bytes = (int64_t)1 << 30;
    cfg->entry_max_bytes = 1 << 20;
    cfg->uncommitted_max = 8192;
    cfg->rand_seed = 0x5eed0000u + (uint64_t)node_id;
}

static int config_validate(const raft_config *cfg) {
    SL_RETURN_IF(cfg->node_id < 0, SL_E_CONFIG, "node_id=%d", cfg->node_id);
    SL_RETURN_IF(cfg->voter_count < 1 || cfg->voter_count > RAFT_VOTERS_MAX, SL_E_CONFIG,
                   "voter_count=%d", cfg->voter_count);
    for (int32_t i = 0; i < cfg->voter_count; i++) {
        SL_RETURN_IF(cfg->voters[i] < 0, SL_E_CONFIG, "voter=%d", cfg->voters[i]);
        for (int32_t j = 0; j < i; j++) {
            SL_RETURN_IF(cfg->voters[i] == cfg->voters[j], SL_E_CONFIG, "dup=%d", cfg->voters[i]);
        }
    }
    SL_RETURN_IF(cfg->election_timeout_ms < 1 || cfg->fetch_timeout_ms < 1 ||
                       cfg->request_timeout_ms < 1 || cfg->retry_backoff_ms < 0,
                   SL_E_CONFIG, "timeouts=%d", 0);
    /* a parked fetch must come back before the follower gives up on the leader */
    SL_RETURN_IF(cfg->fetch_max_wait_ms < 0 || cfg->fetch_max_wait_ms >= cfg->fetch_timeout_ms,
                   SL_E_CONFIG, "fetch_max_wait_ms=%d", cfg->fetch_max_wait_ms);
    SL_RETURN_IF(cfg->fetch_max_bytes < 1 || cfg->snapshot_chunk_bytes < 1 ||
                       cfg->snapshot_max_bytes < 0 || cfg->entry_max_bytes < 0 ||
                       cfg->uncommitted_max < 1,
                   SL_E_CONFIG, "limits=%d", 0);
    return SL_OK;
}

static int restore_validate(const raft_node *node, const raft_restore *rs) {
    const raft_quorum_state *st = &rs->state;
    SL_RETURN_IF(st->epoch < 0, SL_E_CORRUPT, "epoch=%d", st->epoch);
    SL_RETURN_IF(st->voted_id != RAFT_NODE_NONE && raft_voter_index(node, st->voted_id) < 0,
                   SL_E_CORRUPT, "voted_id=%d", st->voted_id);
    SL_RETURN_IF(st->leader_id != RAFT_NODE_NONE && raft_voter_index(node, st->leader_id) < 0,
                   SL_E_CORRUPT, "leader_id=%d", st->leader_id);
    const raft_snapshot_id *sid = &rs->snapshot_id;
    SL_RETURN_IF(sid->end_offset < 0 || sid->epoch < 0 || sid->epoch > st->epoch ||
                       (sid->end_offset == 0) != (sid->epoch == 0),
                   SL_E_CORRUPT, "snapshot=%lld/%d", (long long)sid->end_offset, sid->epoch);
    SL_RETURN_IF(rs->snapshot_size > 0 && rs->snapshot_data == NULL, SL_E_CORRUPT,
                   "snapshot_size=%zu", rs->snapshot_size);
    SL_RETURN_IF(rs->entry_count < 0 || (rs->entry_count > 0 && rs->entries == NULL),
                   SL_E_CORRUPT, "entry_count=%lld", (long long)rs->entry_count);
    int32_t prev_epoch = sid->epoch;
    for (int64_t i = 0; i < rs->entry_count; i++) {
        const raft_entry *e = &rs->entries[i];
        SL_RETURN_IF(e->offset != sid->end_offset + i, SL_E_CORRUPT, "offset=%lld",
                       (long long)e->offset);
        SL_RETURN_IF(e->epoch < 1 || e->epoch < prev_epoch || e->epoch > st->epoch, SL_E_CORRUPT,
                       "entry epoch=%d", e->epoch);
        SL_RETURN_IF(e->kind > RAFT_ENTRY_LEADER_CHANGE, SL_E_CORRUPT, "kind=%d", e->kind);
        SL_RETURN_IF(e->size > 0 && e->data == NULL, SL_E_CORRUPT, "entry_offset=%lld",
                       (long long)e->offset);
        prev_epoch = e->epoch;
    }
    return SL_OK;
}

static void node_restore(raft_node *node, const raft_restore *rs) {
    node->epoch = rs->state.epoch;
    node->voted_id = rs->state.voted_id;
    node->leader_id = rs->state.leader_id;
    raft_log_reset(&node->log, rs->snapshot_id.end_offset, rs->snapshot_id.epoch);
    for (int64_t i = 0; i < rs->entry_count; i++) {
        const raft_entry *e = &rs->entries[i];
        raft_log_append(&node->log, e->epoch, e->kind, e->data, e->size);
    }
    node->log.durable_end = raft_log_end(&node->log);
    node->hw = node->log.start_offset;
    node->applied_hw = node->hw;
    if (rs->snapshot_size > 0) {
        node->snap_data = sl_malloc(rs->snapshot_size);
        memcpy(node->snap_data, rs->snapshot_data, rs->snapshot_size);
        node->snap_size = rs->snapshot_size;
    }
}

static void node_start_role(raft_node *node) {
    int32_t self = node->cfg.node_id;
    if (node->leader_id == self && node->is_voter) {
        node->role = RAFT_ROLE_RESIGNED; /* a restarted leader never resumes its epoch */
        node->end_acked_mask = 1u << node->self_index;
        node->election_deadline_ms = node->now_ms + raft_election_timeout(node);
    } else if (node->leader_id != RAFT_NODE_NONE && node->leader_id != self) {
        node->role = RAFT_ROLE_FOLLOWER;
        node->fetch_deadline_ms = node->now_ms + node->cfg.fetch_timeout_ms;
    } else {
        node->leader_id = RAFT_NODE_NONE;
        node->role = RAFT_ROLE_UNATTACHED;
        if (node->is_voter) {
            node->election_deadline_ms = node->now_ms + raft_election_timeout(node);
        }
    }
}

int raft_node_new(const raft_config *cfg,
                  const raft_restore *restore,
                  int64_t now_ms,
                  raft_node **node_out) {
    SL_TRY(config_validate(cfg));
    raft_node *node = SL_NEW(raft_node);
    node->cfg = *cfg;
    node->voter_count = cfg->voter_count;
    node->self_index = raft_voter_index(node, cfg->node_id);
    node->is_voter = node->self_index >= 0;
    node->now_ms = now_ms;
    sl_rand_seed(&node->rng, cfg->rand_seed);
    raft_log_init(&node->log);
    sl_buf_init(&node->snap_fetch_buf);
    raft_out_init(&node->out[0]);
    raft_out_init(&node->out[1]);
    node->epoch = 0;
    node->voted_id = RAFT_NODE_NONE;
    node->leader_id = RAFT_NODE_NONE;
    if (restore) {
        int rc = restore_validate(node, restore);
        if (rc != SL_OK) {
            raft_node_free(node);
            return rc;
        }
        node_restore(node, restore);
    }
    node_start_role(node);
    raft_check_invariants(node);
    SL_LOG(SL_INFO, "raft", "node_start", "node=%d role=%s epoch=%d leader=%d end_offset=%lld",
           node->cfg.node_id, raft_role_name(node->role), node->epoch, node->leader_id,
           (long long)raft_log_end(&node->log));
    *node_out = node;
    return SL_OK;
}

void raft_node_free(raft_node *node) {
    if (!node) return;
    raft_log_deinit(&node->log);
    sl_buf_deinit(&node->snap_fetch_buf);
    raft_out_deinit(&node->out[0]);
    raft_out_deinit(&node->out[1]);
    sl_free(node->snap_data);
    sl_free(node);
}

/* ------------------------------------------------------------------ views */

int32_t raft_node_id(const raft_node *node) {
    return node->cfg.node_id;
}

raft_role raft_node_role(const raft_node *node) {
    return node->role;
}

int32_t raft_node_epoch(const raft_node *node) {
    return node->epoch;
}

int32_t raft_node_leader_id(const raft_node *node) {
    return node->leader_id;
}

int64_t raft_node_high_watermark(const raft_node *node) {
    return node->hw;
}

int64_t raft_node_log_start_offset(const raft_node *node) {
    return node->log.start_offset;
}

int64_t raft_node_log_end_offset(const raft_node *node) {
    return raft_log_end(&node->log);
}

int64_t raft_node_durable_end_offset(const raft_node *node) {
    return node->log.durable_end;
}

raft_snapshot_id raft_node_snapshot_id(const raft_node *node) {
    return (raft_snapshot_id){ node->log.start_offset, node->log.start_epoch };
}

int raft_node_entry(const raft_node *node, int64_t offset, raft_entry *entry_out) {
    const raft_log_slot *slot = raft_log_slot_at(&node->log, offset);
    if (!slot) return SL_E_RANGE;
    *entry_out = (raft_entry){ .offset = offset,
                               .epoch = slot->epoch,
                               .kind = slot->kind,
                               .size = slot->size,
                               .data = slot->data };
    return SL_OK;
}

const char *raft_role_name(raft_role role) {
    switch (role) {
    case RAFT_ROLE_UNATTACHED:
        return "unattached";
    case RAFT_ROLE_PROSPECTIVE:
        return "prospective";
    case RAFT_ROLE_CANDIDATE:
        return "candidate";
    case RAFT_ROLE_LEADER:
        return "leader";
    case RAFT_ROLE_FOLLOWER:
        return "follower";
    case RAFT_ROLE_RESIGNED:
        return "resigned";
    }
    return "unknown";
}

const char *raft_msg_type_name(raft_msg_type type) {
    switch (type) {
    case RAFT_MSG_VOTE_REQUEST:
        return "vote_req";
    case RAFT_MSG_VOTE_RESPONSE:
        return "vote_resp";
    case RAFT_MSG_BEGIN_EPOCH_REQUEST:
        return "begin_req";
    case RAFT_MSG_BEGIN_EPOCH_RESPONSE:
        return "begin_resp";
    case RAFT_MSG_END_EPOCH_REQUEST:
        return "end_req";
    case RAFT_MSG_END_EPOCH_RESPONSE:
        return "end_resp";
    case RAFT_MSG_FETCH_REQUEST:
        return "fetch_req";
    case RAFT_MSG_FETCH_RESPONSE:
        return "fetch_resp";
    case RAFT_MSG_FETCH_SNAPSHOT_REQUEST:
        return "snap_req";
    case RAFT_MSG_FETCH_SNAPSHOT_RESPONSE:
        return "snap_resp";
    }
    return "unknown";
}
