/* Unit tests for raft/: the in-memory log, configuration and restore checks, elections
 * with pre-vote, votes, replication and the high watermark, long-poll fetches,
 * divergence, snapshots, resignation, check-quorum, observers, and the rejection of
 * malformed input. A small harness runs nodes over a synchronous in-test network whose
 * disks are durable at once, unless a test holds durability back. */
#include "raft/raft.h"
#include "raft/raft_int.h"

#include "common/sl_alloc.h"
#include "common/sl_buf.h"
#include "common/sl_err.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Suite *raft_suite(void);

/* ------------------------------------------------------------------ harness */

#define H_NODES 6
#define H_QUEUE 4096

typedef struct harness {
    raft_node *nodes[H_NODES];
    int count;
    int voters;
    int64_t now;
    bool blocked[H_NODES][H_NODES]; /* [from][to] */
    bool hold_durable[H_NODES];     /* disk does not report durability */
    raft_msg *queue[H_QUEUE];
    int queued;
    int64_t committed[H_NODES]; /* entries handed to the application */
    int64_t data_committed[H_NODES];
    int state_writes[H_NODES];
    int installs[H_NODES];
    int truncations[H_NODES];
    int msgs_sent[H_NODES];
} harness;

static harness h;

static int h_index(int32_t id) {
    return id - 1;
}

static raft_msg *msg_clone(const raft_msg *msg) {
    size_t extra = 0;
    if (msg->type == RAFT_MSG_FETCH_RESPONSE) {
        extra += (size_t)msg->fetch_resp.entry_count * sizeof(raft_entry);
        for (int i = 0; i < msg->fetch_resp.entry_count; i++)
            extra += msg->fetch_resp.entries[i].size;
    } else if (msg->type == RAFT_MSG_FETCH_SNAPSHOT_RESPONSE) {
        extra += msg->snap_resp.data_size;
    }
    raft_msg *copy = sl_malloc(sizeof(*copy) + extra);
    *copy = *msg;
    uint8_t *p = (uint8_t *)(copy + 1);
    if (msg->type == RAFT_MSG_FETCH_RESPONSE && msg->fetch_resp.entry_count > 0) {
        raft_entry *entries = (raft_entry *)p;
        p += (size_t)msg->fetch_resp.entry_count * sizeof(raft_entry);
        for (int i = 0; i < msg->fetch_resp.entry_count; i++) {
            entries[i] = msg->fetch_resp.entries[i];
            if (entries[i].size > 0) memcpy(p, entries[i].data, entries[i].size);
            entries[i].data = p;
            p += entries[i].size;
        }
        copy->fetch_resp.entries = entries;
    } else if (msg->type == RAFT_MSG_FETCH_SNAPSHOT_RESPONSE && msg->snap_resp.data_size > 0) {
        memcpy(p, msg->snap_resp.data, msg->snap_resp.data_size);
        copy->snap_resp.data = p;
    }
    return copy;
}

static void h_config(raft_config *cfg, int id, int voters) {
    raft_config_init(cfg, id);
    cfg->voter_count = voters;
    for (int i = 0; i < voters; i++)
        cfg->voters[i] = i + 1;
    cfg->election_timeout_ms = 100;
    cfg->fetch_timeout_ms = 200;
    cfg->fetch_max_wait_ms = 50;
    cfg->request_timeout_ms = 50;
    cfg->retry_backoff_ms = 5;
    cfg->snapshot_chunk_bytes = 7;
    cfg->rand_seed = (uint64_t)id * 977;
}

static void h_start(int voters, int observers) {
    memset(&h, 0, sizeof(h));
    h.count = voters + observers;
    h.voters = voters;
    h.now = 1000;
    for (int i = 0; i < h.count; i++) {
        raft_config cfg;
        h_config(&cfg, i + 1, voters);
        ck_assert_int_eq(raft_node_new(&cfg, NULL, h.now, &h.nodes[i]), SL_OK);
    }
}

static void h_stop(void) {
    for (int i = 0; i < h.count; i++)
        raft_node_free(h.nodes[i]);
    for (int i = 0; i < h.queued; i++)
        sl_free(h.queue[i]);
    memset(&h, 0, sizeof(h));
}

static void h_report_durable(int i) {
    raft_node *node = h.nodes[i];
    int64_t end = raft_node_log_end_offset(node);
    int32_t epoch = raft_node_snapshot_id(node).epoch;
    raft_entry e;
    if (raft_node_entry(node, end - 1, &e) == SL_OK) epoch = e.epoch;
    raft_node_log_durable(node, h.now, end, epoch);
}

/* Take node i's ready: count what happened, queue its messages. */
static bool h_collect(int i) {
    raft_node *node = h.nodes[i];
    if (!node || !raft_node_has_ready(node)) return false;
    raft_ready rd;
    raft_node_ready(node, &rd);
    if (rd.state_changed) h.state_writes[i]++;
    bool wrote = false;
    for (int k = 0; k < rd.log_op_count; k++) {
        if (rd.log_ops[k].type == RAFT_LOG_OP_INSTALL_SNAPSHOT) h.installs[i]++;
        if (rd.log_ops[k].type == RAFT_LOG_OP_TRUNCATE) h.truncations[i]++;
        wrote = true;
    }
    for (int k = 0; k < rd.msg_count; k++) {
        ck_assert_int_lt(h.queued, H_QUEUE);
        h.queue[h.queued++] = msg_clone(&rd.msgs[k]);
        h.msgs_sent[i]++;
    }
    for (int k = 0; k < rd.committed_count; k++) {
        ck_assert_int_eq(rd.committed[k].offset, h.committed[i]);
        h.committed[i]++;
        if (rd.committed[k].kind == RAFT_ENTRY_DATA) h.data_committed[i]++;
    }
    if (wrote && !h.hold_durable[i]) h_report_durable(i);
    return true;
}

/* Deliver everything until the network is quiet (no time passes). */
static void h_settle(void) {
    for (int round = 0; round < 1000; round++) {
        bool busy = false;
        for (int i = 0; i < h.count; i++)
            busy |= h_collect(i);
        if (h.queued == 0 && !busy) return;
        int n = h.queued;
        raft_msg *batch[H_QUEUE];
        memcpy(batch, h.queue, (size_t)n * sizeof(*batch));
        h.queued = 0;
        for (int k = 0; k < n; k++) {
            int from = h_index(batch[k]->from), to = h_index(batch[k]->to);
            if (to >= 0 && to < h.count && h.nodes[to] && !h.blocked[from][to]) {
                ck_assert_int_eq(raft_node_step(h.nodes[to], h.now, batch[k]), SL_OK);
            }
            sl_free(batch[k]);
        }
    }
    ck_abort_msg("network never settled");
}

static void h_advance(int64_t ms) {
    for (int64_t t = 0; t < ms; t += 5) {
        h.now += 5;
        for (int i = 0; i < h.count; i++) {
            if (h.nodes[i]) raft_node_tick(h.nodes[i], h.now);
        }
        h_settle();
    }
}

static int h_leader(void) {
    int leader = -1;
    for (int i = 0; i < h.count; i++) {
        if (h.nodes[i] && raft_node_role(h.nodes[i]) == RAFT_ROLE_LEADER) {
            ck_assert_msg(leader < 0 ||
                              raft_node_epoch(h.nodes[leader]) != raft_node_epoch(h.nodes[i]),
                          "two leaders in one epoch");
            if (leader < 0 || raft_node_epoch(h.nodes[i]) > raft_node_epoch(h.nodes[leader]))
                leader = i;
        }
    }
    return leader;
}

static int h_elect(void) {
    for (int step = 0; step < 200 && h_leader() < 0; step++)
        h_advance(5);
    int leader = h_leader();
    ck_assert_int_ge(leader, 0);
    h_advance(20); /* let followers attach */
    return leader;
}

static int64_t h_propose(int i, const char *text) {
    int64_t offset = -1;
    int32_t epoch = -1;
    ck_assert_int_eq(
        raft_node_propose(h.nodes[i], h.now, text, (uint32_t)strlen(text), &offset, &epoch), SL_OK);
    ck_assert_int_eq(epoch, raft_node_epoch(h.nodes[i]));
    return offset;
}

static void h_isolate(int i, bool cut) {
    for (int k = 0; k < h.count; k++) {
        if (k == i) continue;
        h.blocked[i][k] = cut;
        h.blocked[k][i] = cut;
    }
}

/* A message built by hand, as a peer would send it. */
static raft_msg mk(raft_msg_type type, int32_t from, int32_t to, int32_t epoch) {
    raft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.from = from;
    m.to = to;
    m.epoch = epoch;
    m.leader_id = RAFT_NODE_NONE;
    m.req_id = 77;
    return m;
}

/* The single reply a hand-delivered message produced (its ready is consumed). */
static raft_msg h_reply(raft_node *node, raft_ready *rd) {
    raft_node_ready(node, rd);
    ck_assert_int_ge(rd->msg_count, 1);
    return rd->msgs[rd->msg_count - 1];
}

/* ------------------------------------------------------------------ log */

START_TEST(test_log_epochs_truncate_and_discard) {
    raft_log log;
    raft_log_init(&log);
    uint8_t b = 1;
    for (int i = 0; i < 10; i++)
        raft_log_append(&log, i < 4 ? 1 : (i < 7 ? 3 : 5), 0, &b, 1);
    ck_assert_int_eq(raft_log_end(&log), 10);
    ck_assert_int_eq(raft_log_last_epoch(&log), 5);
    int32_t epoch;
    int64_t end;
    ck_assert(raft_log_end_offset_for_epoch(&log, 2, &epoch, &end));
    ck_assert_int_eq(epoch, 1);
    ck_assert_int_eq(end, 4);
    ck_assert(raft_log_end_offset_for_epoch(&log, 3, &epoch, &end));
    ck_assert_int_eq(end, 7);
    ck_assert(raft_log_end_offset_for_epoch(&log, 9, &epoch, &end));
    ck_assert_int_eq(epoch, 5);
    ck_assert_int_eq(end, 10);
    raft_log_truncate(&log, 6);
    ck_assert_int_eq(raft_log_last_epoch(&log), 3);
    ck_assert(raft_log_is_valid(&log));
    raft_log_discard_prefix(&log, 5);
    ck_assert_int_eq(log.start_offset, 5);
    ck_assert_int_eq(log.start_epoch, 3);
    ck_assert_int_eq(raft_log_epoch_at(&log, 4), 3);
    ck_assert_int_eq(raft_log_epoch_at(&log, 3), -1);
    ck_assert(!raft_log_end_offset_for_epoch(&log, 2, &epoch, &end));
    ck_assert(raft_log_is_valid(&log));
    for (int i = 0; i < 500; i++)
        raft_log_append(&log, 7, 0, &b, 1); /* grows and slides */
    raft_log_discard_prefix(&log, 400);
    for (int i = 0; i < 500; i++)
        raft_log_append(&log, 8, 0, &b, 1);
    ck_assert(raft_log_is_valid(&log));
    ck_assert_int_eq(raft_log_end(&log), 1006);
    raft_log_deinit(&log);
}
END_TEST

/* ------------------------------------------------------------------ config, restore */

START_TEST(test_config_rejects_bad_values) {
    raft_config cfg;
    raft_node *node = NULL;
    h_config(&cfg, 1, 3);
    cfg.voter_count = 0;
    ck_assert_int_eq(raft_node_new(&cfg, NULL, 0, &node), SL_E_CONFIG);
    h_config(&cfg, 1, 3);
    cfg.voters[2] = 1;
    ck_assert_int_eq(raft_node_new(&cfg, NULL, 0, &node), SL_E_CONFIG);
    h_config(&cfg, 1, 3);
    cfg.fetch_max_wait_ms = cfg.fetch_timeout_ms;
    ck_assert_int_eq(raft_node_new(&cfg, NULL, 0, &node), SL_E_CONFIG);
    h_config(&cfg, -4, 3);
    ck_assert_int_eq(raft_node_new(&cfg, NULL, 0, &node), SL_E_CONFIG);
    ck_assert_ptr_null(node);
    raft_config_init(&cfg, 1);
    ck_assert_int_eq(cfg.election_timeout_ms, 1000);
    ck_assert_int_eq(cfg.fetch_timeout_ms, 2000);
}
END_TEST

START_TEST(test_restore_validates_and_picks_role) {
    raft_config cfg;
    h_config(&cfg, 1, 3);
    raft_entry entries[3];
    const char *data = "abc";
    for (int i = 0; i < 3; i++) {
        entries[i] = (raft_entry){
            .offset = 10 + i, .epoch = 2 + (i == 2), .size = 3, .data = (const uint8_t *)data
        };
    }
    raft_restore rs = { .state = { 3, 2, 2 },
                        .snapshot_id = { 10, 2 },
                        .snapshot_data = (const uint8_t *)"snap",
                        .snapshot_size = 4,
                        .entries = entries,
                        .entry_count = 3 };
    raft_node *node = NULL;
    ck_assert_int_eq(raft_node_new(&cfg, &rs, 0, &node), SL_OK);
    ck_assert_int_eq(raft_node_role(node), RAFT_ROLE_FOLLOWER);
    ck_assert_int_eq(raft_node_leader_id(node), 2);
    ck_assert_int_eq(raft_node_log_start_offset(node), 10);
    ck_assert_int_eq(raft_node_log_end_offset(node), 13);
    ck_assert_int_eq(raft_node_durable_end_offset(node), 13);
    ck_assert_int_eq(raft_node_high_watermark(node), 10);
    raft_node_free(node);
    rs.state.leader_id = 1;
    ck_assert_int_eq(raft_node_new(&cfg, &rs, 0, &node), SL_OK);
    ck_assert_int_eq(raft_node_role(node), RAFT_ROLE_RESIGNED); /* never resumes */
    raft_node_free(node);
    entries[1].offset = 12; /* a gap */
    ck_assert_int_eq(raft_node_new(&cfg, &rs, 0, &node), SL_E_CORRUPT);
    entries[1].offset = 11;
    rs.state.epoch = 2; /* an entry of epoch 3 with state epoch 2 */
    ck_assert_int_eq(raft_node_new(&cfg, &rs, 0, &node), SL_E_CORRUPT);
    rs.state = (raft_quorum_state){ 3, 9, RAFT_NODE_NONE }; /* voted for a stranger */
    ck_assert_int_eq(raft_node_new(&cfg, &rs, 0, &node), SL_E_CORRUPT);
}
END_TEST

/* ------------------------------------------------------------------ elections */

START_TEST(test_single_voter_elects_itself_and_commits_after_durable) {
    h_start(1, 0);
    h.hold_durable[0] = true;
    h_advance(250);
    raft_node *node = h.nodes[0];
    ck_assert_int_eq(raft_node_role(node), RAFT_ROLE_LEADER);
    ck_assert_int_eq(raft_node_epoch(node), 1);
    ck_assert_int_eq(raft_node_log_end_offset(node), 1); /* LeaderChange */
    ck_assert_int_eq(raft_node_high_watermark(node), 0); /* not durable yet */
    int64_t offset = h_propose(0, "x");
    ck_assert_int_eq(offset, 1);
    h_settle();
    ck_assert_int_eq(raft_node_high_watermark(node), 0);
    raft_node_log_durable(node, h.now, 1, 1); /* only the LeaderChange entry */
    ck_assert_int_eq(raft_node_high_watermark(node), 1);
    raft_node_log_durable(node, h.now, 2, 7); /* wrong epoch: stale report, ignored */
    ck_assert_int_eq(raft_node_high_watermark(node), 1);
    raft_node_log_durable(node, h.now, 2, 1);
    ck_assert_int_eq(raft_node_high_watermark(node), 2);
    h_settle();
    ck_assert_int_eq(h.committed[0], 2);
    ck_assert_int_eq(h.data_committed[0], 1);
    h_stop();
}
END_TEST

START_TEST(test_three_voters_elect_one_leader_and_replicate) {
    h_start(3, 0);
    int leader = h_elect();
    int32_t epoch = raft_node_epoch(h.nodes[leader]);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(raft_node_epoch(h.nodes[i]), epoch);
        ck_assert_int_eq(raft_node_leader_id(h.nodes[i]), leader + 1);
    }
    raft_entry lc; /* LeaderChangeMessage v0: leader, voters, granting voters */
    ck_assert_int_eq(raft_node_entry(h.nodes[leader], 0, &lc), SL_OK);
    ck_assert_int_eq(lc.kind, RAFT_ENTRY_LEADER_CHANGE);
    ck_assert_int_eq(lc.epoch, epoch);
    ck_assert_uint_ge(lc.size, 2 + 4 + 4 + 12 + 4 + 8);
    ck_assert_int_eq(sl_load_be32(lc.data + 2), leader + 1);
    ck_assert_int_eq(sl_load_be32(lc.data + 6), 3);
    ck_assert_int_ge(sl_load_be32(lc.data + 22), 2); /* a majority granted */
    for (int k = 0; k < 20; k++)
        h_propose(leader, "entry");
    h_advance(100);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(raft_node_high_watermark(h.nodes[i]), 21);
        ck_assert_int_eq(h.data_committed[i], 20);
    }
    h_stop();
}
END_TEST

START_TEST(test_candidate_state_is_persisted_with_its_vote_requests) {
    h_start(3, 0);
    h_isolate(0, true);
    h_isolate(1, true);
    h_isolate(2, true);
    h.now += 400;
    raft_node_tick(h.nodes[0], h.now); /* prospective: pre-votes change nothing durable */
    raft_ready rd;
    raft_node_ready(h.nodes[0], &rd);
    ck_assert_int_eq(rd.role, RAFT_ROLE_PROSPECTIVE);
    ck_assert(!rd.state_changed);
    ck_assert_int_eq(rd.msg_count, 2);
    ck_assert(rd.msgs[0].vote.pre_vote);
    ck_assert_int_eq(rd.msgs[0].epoch, 0);
    /* one granted pre-vote makes a majority of three: the candidate's epoch and its vote
     * for itself come out in the same ready as its vote requests */
    raft_msg grant = mk(RAFT_MSG_VOTE_RESPONSE, 2, 1, 0);
    grant.vote_resp = (raft_vote_response){ .granted = true, .pre_vote = true };
    ck_assert_int_eq(raft_node_step(h.nodes[0], h.now, &grant), SL_OK);
    raft_node_ready(h.nodes[0], &rd);
    ck_assert_int_eq(rd.role, RAFT_ROLE_CANDIDATE);
    ck_assert(rd.state_changed);
    ck_assert_int_eq(rd.state.epoch, 1);
    ck_assert_int_eq(rd.state.voted_id, 1);
    ck_assert_int_eq(rd.msg_count, 2);
    ck_assert(!rd.msgs[0].vote.pre_vote);
    ck_assert_int_eq(rd.msgs[0].epoch, 1);
    h_stop();
}
END_TEST

START_TEST(test_vote_granted_once_per_epoch_and_only_to_up_to_date_logs) {
    h_start(3, 0);
    raft_node *voter = h.nodes[2];
    raft_ready rd;
    raft_msg req = mk(RAFT_MSG_VOTE_REQUEST, 1, 3, 4);
    req.vote = (raft_vote_request){ .last_epoch = 0, .last_offset = 0, .pre_vote = false };
    ck_assert_int_eq(raft_node_step(voter, h.now, &req), SL_OK);
    raft_msg reply = h_reply(voter, &rd);
    ck_assert(reply.vote_resp.granted);
    ck_assert(rd.state_changed); /* the vote is persisted before the reply leaves */
    ck_assert_int_eq(rd.state.epoch, 4);
    ck_assert_int_eq(rd.state.voted_id, 1);
    req.from = 2; /* a second candidate in the same epoch */
    ck_assert_int_eq(raft_node_step(voter, h.now, &req), SL_OK);
    reply = h_reply(voter, &rd);
    ck_assert(!reply.vote_resp.granted);
    req.from = 1; /* the same candidate again: idempotent */
    ck_assert_int_eq(raft_node_step(voter, h.now, &req), SL_OK);
    ck_assert(h_reply(voter, &rd).vote_resp.granted);
    /* a pre-vote in a later epoch moves the epoch but records no vote */
    raft_msg pre = mk(RAFT_MSG_VOTE_REQUEST, 2, 3, 5);
    pre.vote = (raft_vote_request){ .last_epoch = 0, .last_offset = 0, .pre_vote = true };
    ck_assert_int_eq(raft_node_step(voter, h.now, &pre), SL_OK);
    reply = h_reply(voter, &rd);
    ck_assert(reply.vote_resp.granted);
    ck_assert(reply.vote_resp.pre_vote);
    ck_assert_int_eq(rd.state.voted_id, RAFT_NODE_NONE);
    h_stop();
}
END_TEST

START_TEST(test_vote_rejected_for_stale_log) {
    h_start(3, 0);
    int leader = h_elect();
    for (int k = 0; k < 3; k++)
        h_propose(leader, "e");
    h_advance(50);
    int voter = (leader + 1) % 3;
    int32_t epoch = raft_node_epoch(h.nodes[voter]);
    raft_msg req = mk(RAFT_MSG_VOTE_REQUEST, (leader + 2) % 3 + 1, voter + 1, epoch + 1);
    req.vote = (raft_vote_request){ .last_epoch = epoch, .last_offset = 1 };
    ck_assert_int_eq(raft_node_step(h.nodes[voter], h.now, &req), SL_OK);
    raft_ready rd;
    ck_assert(!h_reply(h.nodes[voter], &rd).vote_resp.granted);
    ck_assert_int_eq(rd.state.voted_id, RAFT_NODE_NONE);
    h_stop();
}
END_TEST

START_TEST(test_pre_vote_keeps_isolated_voter_from_deposing_leader) {
    h_start(3, 0);
    int leader = h_elect();
    int32_t epoch = raft_node_epoch(h.nodes[leader]);
    int lonely = (leader + 1) % 3;
    h_isolate(lonely, true);
    h_advance(1000);                                           /* many election timeouts */
    ck_assert_int_eq(raft_node_epoch(h.nodes[lonely]), epoch); /* pre-votes bump nothing */
    ck_assert_int_eq(raft_node_role(h.nodes[leader]), RAFT_ROLE_LEADER);
    h_isolate(lonely, false);
    h_advance(400);
    ck_assert_int_eq(h_leader(), leader);
    ck_assert_int_eq(raft_node_epoch(h.nodes[leader]), epoch);
    ck_assert_int_eq(raft_node_role(h.nodes[lonely]), RAFT_ROLE_FOLLOWER);
    h_stop();
}
END_TEST

START_TEST(test_leader_without_quorum_resigns_and_others_elect) {
    h_start(3, 0);
    int leader = h_elect();
    int32_t epoch = raft_node_epoch(h.nodes[leader]);
    h_isolate(leader, true);
    h_advance(250); /* > fetch_timeout */
    ck_assert_int_ne(raft_node_role(h.nodes[leader]), RAFT_ROLE_LEADER);
    h_advance(600);
    int next = h_leader();
    ck_assert_int_ge(next, 0);
    ck_assert_int_ne(next, leader);
    ck_assert_int_gt(raft_node_epoch(h.nodes[next]), epoch);
    h_isolate(leader, false);
    h_advance(300);
    ck_assert_int_eq(raft_node_role(h.nodes[leader]), RAFT_ROLE_FOLLOWER);
    ck_assert_int_eq(raft_node_leader_id(h.nodes[leader]), next + 1);
    h_stop();
}
END_TEST

START_TEST(test_resign_hands_over_to_best_successor) {
    h_start(3, 0);
    int leader = h_elect();
    int32_t epoch = raft_node_epoch(h.nodes[leader]);
    ck_assert_int_eq(raft_node_resign(h.nodes[leader], h.now), SL_OK);
    ck_assert_int_eq(raft_node_resign(h.nodes[leader], h.now), SL_E_STATE);
    raft_ready rd;
    raft_node_ready(h.nodes[leader], &rd);
    ck_assert_int_eq(rd.role, RAFT_ROLE_RESIGNED);
    int ends = 0;
    for (int k = 0; k < rd.msg_count; k++) {
        if (rd.msgs[k].type != RAFT_MSG_END_EPOCH_REQUEST) continue;
        ends++;
        ck_assert_int_eq(rd.msgs[k].end_epoch.successor_count, 2);
    }
    ck_assert_int_eq(ends, 2);
    for (int k = 0; k < rd.msg_count; k++)
        h.queue[h.queued++] = msg_clone(&rd.msgs[k]);
    h_settle();
    h_advance(60); /* the first successor starts at once, well within one election timeout */
    int next = h_leader();
    ck_assert_int_ge(next, 0);
    ck_assert_int_ne(next, leader);
    ck_assert_int_eq(raft_node_epoch(h.nodes[next]), epoch + 1);
    h_stop();
}
END_TEST

/* ------------------------------------------------------------------ replication */

START_TEST(test_hw_needs_durable_majority) {
    h_start(3, 0);
    int leader = h_elect();
    int a = (leader + 1) % 3, b = (leader + 2) % 3;
    int64_t hw0 = raft_node_high_watermark(h.nodes[leader]);
    h.hold_durable[a] = true;
    h.hold_durable[b] = true;
    h.hold_durable[leader] = true;
    /* each wait stays well inside the fetch timeout: a follower whose disk never
     * completes stops fetching, and a longer stall would depose the leader */
    h_propose(leader, "p");
    h_advance(30);
    ck_assert_int_eq(raft_node_high_watermark(h.nodes[leader]), hw0); /* nobody durable */
    h_report_durable(leader);
    h_advance(30);
    ck_assert_int_eq(raft_node_high_watermark(h.nodes[leader]), hw0); /* a minority */
    h_report_durable(a);
    h_advance(30);
    ck_assert_int_eq(raft_node_role(h.nodes[leader]), RAFT_ROLE_LEADER);
    ck_assert_int_eq(raft_node_high_watermark(h.nodes[leader]), hw0 + 1);
    ck_assert_int_eq(raft_node_high_watermark(h.nodes[a]), hw0 + 1);
    h_stop();
}
END_TEST

START_TEST(test_long_poll_parks_until_new_entry) {
    h_start(3, 0);
    int leader = h_elect();
    int f = (leader + 1) % 3;
    raft_node *node = h.nodes[leader];
    int64_t end = raft_node_log_end_offset(node);
    raft_msg fetch = mk(RAFT_MSG_FETCH_REQUEST, f + 1, leader + 1, raft_node_epoch(node));
    fetch.fetch = (raft_fetch_request){ .fetch_offset = end,
                                        .last_fetched_epoch = raft_node_epoch(node),
                                        .high_watermark = raft_node_high_watermark(node),
                                        .max_wait_ms = 40 };
    fetch.req_id = 4242;
    h_settle();
    ck_assert_int_eq(raft_node_step(node, h.now, &fetch), SL_OK);
    raft_ready rd;
    raft_node_ready(node, &rd);
    for (int k = 0; k < rd.msg_count; k++)
        ck_assert_uint_ne(rd.msgs[k].req_id, 4242);
    h_propose(leader, "wake");
    raft_node_ready(node, &rd);
    bool answered = false;
    for (int k = 0; k < rd.msg_count; k++) {
        if (rd.msgs[k].req_id != 4242) continue;
        answered = true;
        ck_assert_int_eq(rd.msgs[k].fetch_resp.entry_count, 1);
        ck_assert_int_eq(rd.msgs[k].fetch_resp.entries[0].offset, end);
    }
    ck_assert(answered);
    /* nothing new: answered empty once max wait passes */
    fetch.fetch.fetch_offset = end + 1;
    fetch.req_id = 4343;
    h_report_durable(leader);
    raft_node_ready(node, &rd);
    /* this fetch's offset completes a majority, so it also advances the HW: claim to
     * know that HW already, or the answer (rightly) comes at once */
    fetch.fetch.high_watermark = end + 1;
    ck_assert_int_eq(raft_node_step(node, h.now, &fetch), SL_OK);
    raft_node_tick(node, h.now + 39);
    raft_node_ready(node, &rd);
    for (int k = 0; k < rd.msg_count; k++)
        ck_assert_uint_ne(rd.msgs[k].req_id, 4343);
    raft_node_tick(node, h.now + 41);
    raft_node_ready(node, &rd);
    answered = false;
    for (int k = 0; k < rd.msg_count; k++) {
        if (rd.msgs[k].req_id == 4343) answered = rd.msgs[k].fetch_resp.entry_count == 0;
    }
    ck_assert(answered);
    h_stop();
}
END_TEST

START_TEST(test_leader_answers_diverging_epoch_and_snapshot) {
    h_start(1, 0);
    h_advance(250);
    raft_node *node = h.nodes[0];
    for (int k = 0; k < 5; k++)
        h_propose(0, "d");
    h_settle();
    /* a fetcher claiming epoch 7 at offset 4 diverges: largest epoch <= 7 is 1, ends at 6 */
    raft_msg fetch = mk(RAFT_MSG_FETCH_REQUEST, 5, 1, 1);
    fetch.fetch =
        (raft_fetch_request){ .fetch_offset = 9, .last_fetched_epoch = 1, .max_wait_ms = 0 };
    ck_assert_int_eq(raft_node_step(node, h.now, &fetch), SL_OK);
    raft_ready rd;
    raft_msg r = h_reply(node, &rd);
    ck_assert_int_eq(r.error, RAFT_ERR_NONE);
    ck_assert_int_eq(r.fetch_resp.diverging_epoch, 1);
    ck_assert_int_eq(r.fetch_resp.diverging_end_offset, 6);
    ck_assert_int_eq(raft_node_snapshot_taken(node, h.now, 4, "SNAPSHOT", 8), SL_OK);
    ck_assert_int_eq(raft_node_snapshot_taken(node, h.now, 99, "S", 1), SL_E_RANGE);
    raft_node_ready(node, &rd);
    ck_assert_int_eq(rd.log_op_count, 1);
    ck_assert_int_eq(rd.log_ops[0].type, RAFT_LOG_OP_DISCARD_PREFIX);
    fetch.fetch = (raft_fetch_request){ .fetch_offset = 2, .last_fetched_epoch = 1 };
    ck_assert_int_eq(raft_node_step(node, h.now, &fetch), SL_OK);
    r = h_reply(node, &rd);
    ck_assert_int_eq(r.fetch_resp.snapshot_id.end_offset, 4);
    ck_assert_int_eq(r.fetch_resp.snapshot_id.epoch, 1);
    fetch.fetch.fetch_offset = -1; /* malformed */
    ck_assert_int_eq(raft_node_step(node, h.now, &fetch), SL_OK);
    ck_assert_int_eq(h_reply(node, &rd).error, RAFT_ERR_INVALID_REQUEST);
    fetch.fetch.fetch_offset = 4;
    fetch.epoch = 9; /* from the future */
    ck_assert_int_eq(raft_node_step(node, h.now, &fetch), SL_OK);
    ck_assert_int_eq(h_reply(node, &rd).error, RAFT_ERR_UNKNOWN_LEADER_EPOCH);
    h_stop();
}
END_TEST

START_TEST(test_follower_truncates_divergent_suffix_but_never_below_hw) {
    raft_config cfg;
    h_config(&cfg, 2, 3);
    raft_entry entries[6];
    for (int i = 0; i < 6; i++) {
        entries[i] = (raft_entry){
            .offset = i, .epoch = i < 3 ? 1 : 2, .size = 1, .data = (const uint8_t *)"z"
        };
    }
    raft_restore rs = { .state = { 3, RAFT_NODE_NONE, 1 }, .entries = entries, .entry_count = 6 };
    raft_node *node;
    ck_assert_int_eq(raft_node_new(&cfg, &rs, 0, &node), SL_OK);
    raft_node_tick(node, 1);
    raft_ready rd;
    raft_msg req = h_reply(node, &rd);
    ck_assert_int_eq(req.type, RAFT_MSG_FETCH_REQUEST);
    ck_assert_int_eq(req.fetch.fetch_offset, 6);
    ck_assert_int_eq(req.fetch.last_fetched_epoch, 2);
    /* the leader of epoch 3 has epoch 1 up to offset 4: truncate to 3 (our epoch-1 end) */
    raft_msg resp = mk(RAFT_MSG_FETCH_RESPONSE, 1, 2, 3);
    resp.leader_id = 1;
    resp.req_id = req.req_id;
    resp.fetch_resp = (raft_fetch_response){ .fetch_offset = 6,
                                             .last_fetched_epoch = 2,
                                             .diverging_epoch = 1,
                                             .diverging_end_offset = 4,
                                             .high_watermark = 2 };
    ck_assert_int_eq(raft_node_step(node, 2, &resp), SL_OK);
    ck_assert_int_eq(raft_node_log_end_offset(node), 3);
    raft_node_ready(node, &rd);
    ck_assert_int_eq(rd.truncated_from, 3);
    /* entries of epoch 3 bring the log back to end 5 */
    req = rd.msgs[rd.msg_count - 1];
    ck_assert_int_eq(req.fetch.fetch_offset, 3);
    ck_assert_int_eq(req.fetch.last_fetched_epoch, 1);
    raft_entry more[2] = { { .offset = 3, .epoch = 3, .size = 1, .data = (const uint8_t *)"y" },
                           { .offset = 4, .epoch = 3, .size = 1, .data = (const uint8_t *)"y" } };
    resp.req_id = req.req_id;
    resp.fetch_resp = (raft_fetch_response){ .fetch_offset = 3,
                                             .last_fetched_epoch = 1,
                                             .diverging_epoch = -1,
                                             .entries = more,
                                             .entry_count = 2,
                                             .high_watermark = 2 };
    ck_assert_int_eq(raft_node_step(node, 3, &resp), SL_OK);
    ck_assert_int_eq(raft_node_log_end_offset(node), 5);
    ck_assert_int_eq(raft_node_high_watermark(node), 2);
    raft_node_ready(node, &rd);
    /* a late answer computed for a log ending at (5, epoch 2) must not touch this log,
     * which ends at (5, epoch 3): its entries may already count toward the leader's HW */
    resp.fetch_resp = (raft_fetch_response){ .fetch_offset = 5,
                                             .last_fetched_epoch = 2,
                                             .diverging_epoch = 1,
                                             .diverging_end_offset = 4,
                                             .high_watermark = 2 };
    ck_assert_int_eq(raft_node_step(node, 4, &resp), SL_OK);
    ck_assert_int_eq(raft_node_log_end_offset(node), 5);
    raft_node_ready(node, &rd);
    ck_assert_int_eq(rd.truncated_from, -1);
    /* HW follows the leader's, capped by our end */
    raft_node_log_durable(node, 5, 5, 3);
    req = h_reply(node, &rd);
    ck_assert_int_eq(req.fetch.fetch_offset, 5);
    resp.req_id = req.req_id;
    resp.fetch_resp = (raft_fetch_response){
        .fetch_offset = 5, .last_fetched_epoch = 3, .diverging_epoch = -1, .high_watermark = 99
    };
    ck_assert_int_eq(raft_node_step(node, 6, &resp), SL_OK);
    ck_assert_int_eq(raft_node_high_watermark(node), 5);
    /* a lower HW from the leader never moves ours back; a truncation below it is refused */
    resp.fetch_resp = (raft_fetch_response){ .fetch_offset = 5,
                                             .last_fetched_epoch = 3,
                                             .diverging_epoch = 1,
                                             .diverging_end_offset = 1,
                                             .high_watermark = 1 };
    ck_assert_int_eq(raft_node_step(node, 7, &resp), SL_OK);
    ck_assert_int_eq(raft_node_log_end_offset(node), 5);
    ck_assert_int_eq(raft_node_high_watermark(node), 5);
    raft_node_free(node);
}
END_TEST

START_TEST(test_follower_ignores_malformed_fetch_response) {
    h_start(3, 0);
    int leader = h_elect();
    int f = (leader + 1) % 3;
    raft_node *node = h.nodes[f];
    int64_t end = raft_node_log_end_offset(node);
    raft_entry bad[2] = {
        { .offset = end, .epoch = 1, .size = 1, .data = (const uint8_t *)"a" },
        { .offset = end + 5, .epoch = 1, .size = 1, .data = (const uint8_t *)"b" }
    };
    raft_msg resp = mk(RAFT_MSG_FETCH_RESPONSE, leader + 1, f + 1, raft_node_epoch(node));
    resp.leader_id = leader + 1;
    resp.fetch_resp = (raft_fetch_response){ .fetch_offset = end,
                                             .last_fetched_epoch = raft_node_epoch(node),
                                             .diverging_epoch = -1,
                                             .entries = bad,
                                             .entry_count = 2 };
    ck_assert_int_eq(raft_node_step(node, h.now, &resp), SL_OK);
    ck_assert_int_eq(raft_node_log_end_offset(node), end);
    bad[1].offset = end + 1;
    bad[1].epoch = 50; /* an epoch beyond the leader's */
    ck_assert_int_eq(raft_node_step(node, h.now, &resp), SL_OK);
    ck_assert_int_eq(raft_node_log_end_offset(node), end);
    resp.to = 9;
    ck_assert_int_eq(raft_node_step(node, h.now, &resp), SL_E_INVALID);
    raft_msg vote = mk(RAFT_MSG_VOTE_REQUEST, 9, f + 1, 50); /* not a voter */
    vote.vote.last_offset = 1000;
    vote.vote.last_epoch = 40;
    ck_assert_int_eq(raft_node_step(node, h.now, &vote), SL_OK);
    raft_ready rd;
    ck_assert_int_eq(h_reply(node, &rd).error, RAFT_ERR_INCONSISTENT_VOTER_SET);
    ck_assert_int_ne(raft_node_epoch(node), 50);
    h_stop();
}
END_TEST

START_TEST(test_lagging_follower_installs_snapshot_in_chunks) {
    h_start(3, 0);
    int leader = h_elect();
    int lag = (leader + 1) % 3;
    h_isolate(lag, true);
    for (int k = 0; k < 10; k++)
        h_propose(leader, "entry");
    h_advance(20);
    int64_t hw = raft_node_high_watermark(h.nodes[leader]);
    ck_assert_int_ge(hw, 10);
    ck_assert_int_eq(
        raft_node_snapshot_taken(h.nodes[leader], h.now, hw, "a snapshot of the state", 23), SL_OK);
    h_isolate(lag, false);
    h_advance(300);
    ck_assert_int_eq(h.installs[lag], 1);
    ck_assert_int_eq(raft_node_log_start_offset(h.nodes[lag]), hw);
    ck_assert_int_eq(raft_node_high_watermark(h.nodes[lag]),
                     raft_node_high_watermark(h.nodes[leader]));
    ck_assert_int_eq(raft_node_log_end_offset(h.nodes[lag]),
                     raft_node_log_end_offset(h.nodes[leader]));
    h_stop();
}
END_TEST

START_TEST(test_observer_finds_leader_follows_never_votes) {
    h_start(3, 1);
    int leader = h_elect();
    raft_node *obs = h.nodes[3];
    h_advance(200);
    ck_assert_int_eq(raft_node_role(obs), RAFT_ROLE_FOLLOWER);
    ck_assert_int_eq(raft_node_leader_id(obs), leader + 1);
    h_propose(leader, "o");
    h_advance(100);
    ck_assert_int_eq(raft_node_high_watermark(obs), raft_node_high_watermark(h.nodes[leader]));
    ck_assert_int_eq(h.data_committed[3], 1);
    raft_msg vote = mk(RAFT_MSG_VOTE_REQUEST, 1, 4, 30);
    vote.vote = (raft_vote_request){ .last_epoch = 20, .last_offset = 100 };
    ck_assert_int_eq(raft_node_step(obs, h.now, &vote), SL_OK);
    raft_ready rd;
    raft_msg r = h_reply(obs, &rd);
    ck_assert(!r.vote_resp.granted);
    ck_assert_int_eq(r.error, RAFT_ERR_INCONSISTENT_VOTER_SET);
    /* an observer never counts toward the HW: two voters down stops commits */
    raft_node_free(h.nodes[(leader + 1) % 3]);
    h.nodes[(leader + 1) % 3] = NULL;
    int64_t hw = raft_node_high_watermark(h.nodes[leader]);
    raft_node_free(h.nodes[(leader + 2) % 3]);
    h.nodes[(leader + 2) % 3] = NULL;
    int64_t offset, unused;
    int32_t epoch;
    (void)unused;
    ck_assert_int_eq(raft_node_propose(h.nodes[leader], h.now, "n", 1, &offset, &epoch), SL_OK);
    h_advance(50);
    ck_assert_int_eq(raft_node_high_watermark(h.nodes[leader]), hw);
    h_stop();
}
END_TEST

START_TEST(test_epoch_at_limit_from_peer_is_survived) {
    h_start(3, 0);
    raft_msg begin = mk(RAFT_MSG_BEGIN_EPOCH_REQUEST, 2, 1, INT32_MAX);
    begin.leader_id = 2;
    ck_assert_int_eq(raft_node_step(h.nodes[0], h.now, &begin), SL_OK);
    ck_assert_int_eq(raft_node_role(h.nodes[0]), RAFT_ROLE_FOLLOWER);
    ck_assert_int_eq(raft_node_epoch(h.nodes[0]), INT32_MAX);
    h_advance(1000); /* elections are attempted and refused: no epoch can follow */
    for (int i = 0; i < 3; i++)
        ck_assert_int_ne(raft_node_role(h.nodes[i]), RAFT_ROLE_LEADER);
    ck_assert_int_gt(raft_node_next_tick_ms(h.nodes[0]), h.now);
    h_stop();
}
END_TEST

START_TEST(test_propose_limits) {
    h_start(1, 0);
    h.hold_durable[0] = true;
    h_advance(250);
    raft_node *node = h.nodes[0];
    int64_t offset;
    int32_t epoch;
    char big[100];
    memset(big, 'b', sizeof(big));
    node->cfg.entry_max_bytes = 50;
    ck_assert_int_eq(raft_node_propose(node, h.now, big, 100, &offset, &epoch), SL_E_TOO_LARGE);
    node->cfg.uncommitted_max = 3;
    ck_assert_int_eq(raft_node_propose(node, h.now, "a", 1, &offset, &epoch), SL_OK);
    ck_assert_int_eq(raft_node_propose(node, h.now, "a", 1, &offset, &epoch), SL_OK);
    ck_assert_int_eq(raft_node_propose(node, h.now, "a", 1, &offset, &epoch), SL_AGAIN);
    h_stop();
    h_start(3, 0);
    ck_assert_int_eq(raft_node_propose(h.nodes[0], h.now, "a", 1, &offset, &epoch), SL_E_STATE);
    h_stop();
}
END_TEST

/* ------------------------------------------------------------------ connections */

static void h_kill(int i) {
    raft_node_free(h.nodes[i]);
    h.nodes[i] = NULL;
}

static void h_tell_unreachable(int dead) {
    for (int i = 0; i < h.count; i++) {
        if (h.nodes[i]) raft_node_peer_unreachable(h.nodes[i], h.now, dead + 1);
    }
}

/* A new leader within election_timeout / 2 (plus the tick step), well inside the fetch
 * timeout that would otherwise pass first. */
START_TEST(test_lost_leader_connection_elects_early) {
    h_start(3, 1);
    int leader = h_elect();
    h_advance(20); /* the followers just fetched: their fetch deadline is ~200 ms away */
    int32_t epoch = raft_node_epoch(h.nodes[leader]);
    h_kill(leader);
    h_tell_unreachable(leader);
    int64_t t0 = h.now;
    while (h.now - t0 < 150 && (h_leader() < 0 || h.nodes[3] == NULL ||
                                raft_node_leader_id(h.nodes[3]) != h_leader() + 1)) {
        h_advance(5);
    }
    int l2 = h_leader();
    ck_assert_int_ge(l2, 0);
    ck_assert_int_gt(raft_node_epoch(h.nodes[l2]), epoch);
    ck_assert_int_le(h.now - t0, 60); /* [0, 50) plus the 5 ms tick step and rounds */
    /* the observer asked a voter it can reach, not the dead one */
    ck_assert_int_eq(raft_node_leader_id(h.nodes[3]), l2 + 1);
    h_propose(l2, "after");
    h_advance(30);
    ck_assert_int_eq(h.data_committed[3], 1);
    h_stop();
}
END_TEST

/* Without the hint the followers wait for the fetch timeout. */
START_TEST(test_without_hint_followers_wait_fetch_timeout) {
    h_start(3, 0);
    int leader = h_elect();
    h_advance(20);
    h_kill(leader);
    h_advance(100);
    ck_assert_int_lt(h_leader(), 0);
    h_advance(400);
    ck_assert_int_ge(h_leader(), 0);
    h_stop();
}
END_TEST

/* A follower that loses its connection to a live leader asks for pre-votes and is
 * refused: no epoch changes, and it goes back to following. Blips on different
 * followers are spaced by more than a long poll: a follower that just came back from a
 * refused pre-vote grants pre-votes until its next fetch succeeds (KIP-996), so two
 * followers losing the leader within that window elect a new one, as they should when
 * the leader itself is gone. */
START_TEST(test_connection_blip_keeps_live_leader) {
    h_start(3, 0);
    int leader = h_elect();
    int32_t epoch = raft_node_epoch(h.nodes[leader]);
    for (int round = 0; round < 20; round++) {
        int f = (leader + 1 + round % 2) % 3;
        raft_node_peer_unreachable(h.nodes[f], h.now, leader + 1);
        if (round % 3 == 0) raft_node_peer_unreachable(h.nodes[leader], h.now, f + 1);
        h_advance(60); /* beyond the [0, 50) delay: the pre-vote happens */
        raft_node_peer_reachable(h.nodes[f], h.now, leader + 1);
        h_advance(140);
        for (int i = 0; i < 3; i++)
            ck_assert_int_eq(raft_node_epoch(h.nodes[i]), epoch);
        ck_assert_int_eq(h_leader(), leader);
    }
    h_propose(leader, "still");
    h_advance(30);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(raft_node_role(h.nodes[i]),
                         i == leader ? RAFT_ROLE_LEADER : RAFT_ROLE_FOLLOWER);
        ck_assert_int_eq(h.data_committed[i], 1);
    }
    h_stop();
}
END_TEST

/* The connection coming back before the early election cancels it. */
START_TEST(test_reconnect_before_delay_restores_fetch_timeout) {
    h_start(3, 0);
    int leader = h_elect();
    int f = (leader + 1) % 3;
    raft_node_peer_unreachable(h.nodes[f], h.now, leader + 1);
    raft_node_peer_reachable(h.nodes[f], h.now, leader + 1);
    h_isolate(f, true); /* no fetch can refresh it now: only the restored deadline holds */
    h_advance(150);
    ck_assert_int_eq(raft_node_role(h.nodes[f]), RAFT_ROLE_FOLLOWER);
    h_isolate(f, false);
    h_stop();
}
END_TEST

Suite *raft_suite(void) {
    Suite *s = suite_create("raft");
    TCase *tc = tcase_create("log");
    tcase_add_test(tc, test_log_epochs_truncate_and_discard);
    suite_add_tcase(s, tc);

    tc = tcase_create("setup");
    tcase_add_test(tc, test_config_rejects_bad_values);
    tcase_add_test(tc, test_restore_validates_and_picks_role);
    tcase_add_test(tc, test_propose_limits);
    tcase_add_test(tc, test_epoch_at_limit_from_peer_is_survived);
    suite_add_tcase(s, tc);

    tc = tcase_create("election");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_single_voter_elects_itself_and_commits_after_durable);
    tcase_add_test(tc, test_three_voters_elect_one_leader_and_replicate);
    tcase_add_test(tc, test_candidate_state_is_persisted_with_its_vote_requests);
    tcase_add_test(tc, test_vote_granted_once_per_epoch_and_only_to_up_to_date_logs);
    tcase_add_test(tc, test_vote_rejected_for_stale_log);
    tcase_add_test(tc, test_pre_vote_keeps_isolated_voter_from_deposing_leader);
    tcase_add_test(tc, test_leader_without_quorum_resigns_and_others_elect);
    tcase_add_test(tc, test_resign_hands_over_to_best_successor);
    suite_add_tcase(s, tc);

    tc = tcase_create("replication");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_hw_needs_durable_majority);
    tcase_add_test(tc, test_long_poll_parks_until_new_entry);
    tcase_add_test(tc, test_leader_answers_diverging_epoch_and_snapshot);
    tcase_add_test(tc, test_follower_truncates_divergent_suffix_but_never_below_hw);
    tcase_add_test(tc, test_follower_ignores_malformed_fetch_response);
    tcase_add_test(tc, test_lagging_follower_installs_snapshot_in_chunks);
    tcase_add_test(tc, test_observer_finds_leader_follows_never_votes);
    suite_add_tcase(s, tc);

    tc = tcase_create("connections");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_lost_leader_connection_elects_early);
    tcase_add_test(tc, test_without_hint_followers_wait_fetch_timeout);
    tcase_add_test(tc, test_connection_blip_keeps_live_leader);
    tcase_add_test(tc, test_reconnect_before_delay_restores_fetch_timeout);
    suite_add_tcase(s, tc);
    return s;
}
