/* broker_group_core.c — the group coordinator's pure core: groups and members, JoinGroup and
 * the rebalance it drives, protocol selection, the core object and its outstanding appends.
 * SyncGroup, heartbeats, LeaveGroup and timers are in broker_group_member.c; offsets and
 * loading in broker_group_offsets.c.
 *
 * A rebalance, as Kafka 3.x runs it: the first JoinGroup of a new or changed member moves the
 * group to PreparingRebalance and parks every JoinGroup; when every known member has rejoined
 * (and no MEMBER_ID_REQUIRED member is still expected), or the rebalance timeout passes, the
 * members that did not rejoin are removed (static ones stay), the generation increments, the
 * protocol every member supports that most members prefer is selected, and each parked
 * JoinGroup is answered — the leader's with every member's metadata. The group then waits in
 * CompletingRebalance for the leader's SyncGroup with the assignment, which is written to
 * __consumer_offsets before the members get their parts (Stable).
 *
 * Timers are deadlines on the monotonic clock checked by broker_group_core_tick; a deadline of
 * -1 means no timer. Every group invariant a transition relies on is asserted (a broken one
 * would hand two members the same partitions). */
#include "broker/broker_group.h"
#include "common/sl_alloc.h"
#include "common/sl_assert.h"
#include "common/sl_err.h"
#include "common/sl_hash.h"
#include "common/sl_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define E(name) PROTOCOL_ERR_##name

/* ---------------- strings ---------------- */

static char *dup_view(sl_str s) {
    return s.len < 0 ? NULL : sl_strndup(s.len ? s.ptr : "", (size_t)s.len);
}

static char *dup_text(sl_str s) {
    return s.len < 0 ? sl_strdup("") : sl_strndup(s.len ? s.ptr : "", (size_t)s.len);
}

static bool str_is(sl_str a, const char *c) {
    return sl_str_eq(a, sl_str_c(c));
}

static sl_str view_or_empty(const char *c) {
    return c ? sl_str_c(c) : sl_str_c("");
}

const char *broker_group_state_name(int state) {
    switch (state) {
    case BROKER_GROUP_EMPTY:
        return "Empty";
    case BROKER_GROUP_PREPARING_REBALANCE:
        return "PreparingRebalance";
    case BROKER_GROUP_COMPLETING_REBALANCE:
        return "CompletingRebalance";
    case BROKER_GROUP_STABLE:
        return "Stable";
    default:
        return "Dead";
    }
}

/* ---------------- the core object ---------------- */

broker_group_core *broker_group_core_new(const broker_group_config *cfg,
                                         const broker_group_callbacks *cb,
                                         uint64_t seed) {
    broker_group_core *core = SL_NEW(broker_group_core);
    core->cfg = *cfg;
    core->cb = *cb;
    sl_rand_seed(&core->rng, seed);
    sl_map_init(&core->groups);
    broker_group_core_set_partitions(core, cfg->partitions > 0 ? cfg->partitions : 1);
    return core;
}

void broker_group_core_free(broker_group_core *core) {
    if (!core) return;
    for (int32_t p = 0; p < core->partition_count; p++)
        broker_group_load_free(core, p);
    for (size_t i = 0; i < core->groups.cap; i++) {
        if (!sl_map_slot_used(&core->groups, i)) continue;
        broker_group_remove(core, core->groups.slots[i].value);
    }
    while (core->ops)
        broker_group_op_free(core, core->ops);
    sl_map_deinit(&core->groups);
    sl_free(core->partition_state);
    sl_free(core->loads);
    sl_free(core);
}

void broker_group_core_set_partitions(broker_group_core *core, int32_t partitions) {
    if (partitions <= 0 || partitions == core->partition_count) return;
    for (int32_t p = 0; p < core->partition_count; p++) {
        if (core->partition_state[p] != BROKER_GROUP_PARTITION_NONE) {
            broker_group_core_unload(core, p);
        }
    }
    sl_free(core->partition_state);
    sl_free(core->loads);
    core->partition_state = sl_calloc((size_t)partitions, 1);
    core->loads = sl_calloc((size_t)partitions, sizeof(*core->loads));
    core->partition_count = partitions;
    core->cfg.partitions = partitions;
}

int32_t broker_group_core_partitions(const broker_group_core *core) {
    return core->partition_count;
}

int32_t broker_group_core_partition_for(const broker_group_core *core, sl_str group_id) {
    if (group_id.len <= 0) return sl_java_hash_partition("", 0, core->partition_count);
    return sl_java_hash_partition(group_id.ptr, (size_t)group_id.len, core->partition_count);
}

int broker_group_core_partition_state(const broker_group_core *core, int32_t partition) {
    if (partition < 0 || partition >= core->partition_count) return BROKER_GROUP_PARTITION_NONE;
    return core->partition_state[partition];
}

int32_t broker_group_core_partitions_owned(const broker_group_core *core) {
    int32_t n = 0;
    for (int32_t p = 0; p < core->partition_count; p++) {
        n += core->partition_state[p] != BROKER_GROUP_PARTITION_NONE;
    }
    return n;
}

int32_t broker_group_core_ops_pending(const broker_group_core *core) {
    return core->op_count;
}

broker_group *broker_group_core_find(const broker_group_core *core, sl_str group_id) {
    if (group_id.len < 0) return NULL;
    return sl_map_get(&core->groups, group_id.len ? group_id.ptr : "", (size_t)group_id.len);
}

const sl_map *broker_group_core_groups(const broker_group_core *core) {
    return &core->groups;
}

int16_t broker_group_status(const broker_group_core *core, sl_str group_id, bool allow_empty) {
    if (group_id.len < 0 || (!allow_empty && group_id.len == 0)) return E(INVALID_GROUP_ID);
    switch (core->partition_state[broker_group_core_partition_for(core, group_id)]) {
    case BROKER_GROUP_PARTITION_LOADING:
        return E(COORDINATOR_LOAD_IN_PROGRESS);
    case BROKER_GROUP_PARTITION_LOADED:
        return E(NONE);
    default:
        return E(NOT_COORDINATOR);
    }
}

/* ---------------- members ---------------- */

static void protocols_free(broker_group_protocol *p, int32_t count) {
    for (int32_t i = 0; i < count; i++) {
        sl_free(p[i].name);
        sl_free(p[i].metadata);
    }
    sl_free(p);
}

static broker_group_protocol *
protocols_copy(const sl_str *names, const sl_bytes *metadata, int32_t count) {
    broker_group_protocol *p = sl_calloc((size_t)count + 1, sizeof(*p));
    for (int32_t i = 0; i < count; i++) {
        p[i].name = dup_text(names[i]);
        if (metadata[i].len > 0) {
            p[i].metadata = sl_malloc((size_t)metadata[i].len);
            memcpy(p[i].metadata, metadata[i].ptr, (size_t)metadata[i].len);
            p[i].metadata_len = metadata[i].len;
        }
    }
    return p;
}

static void member_free(broker_group_member *m) {
    sl_free(m->member_id);
    sl_free(m->instance_id);
    sl_free(m->client_id);
    sl_free(m->client_host);
    sl_free(m->protocol_type);
    protocols_free(m->protocols, m->protocol_count);
    sl_free(m->assignment);
    sl_free(m);
}

static void member_set_protocols(broker_group_member *m, const broker_group_join_request *req) {
    protocols_free(m->protocols, m->protocol_count);
    m->protocols = protocols_copy(req->protocol_names, req->protocol_metadata, req->protocol_count);
    m->protocol_count = req->protocol_count;
    m->rebalance_timeout_ms = req->rebalance_timeout_ms;
    m->session_timeout_ms = req->session_timeout_ms;
}

static broker_group_member *member_new(const broker_group_join_request *req,
                                       const char *member_id) {
    broker_group_member *m = SL_NEW(broker_group_member);
    m->member_id = sl_strdup(member_id);
    m->instance_id = dup_view(req->group_instance_id);
    m->client_id = dup_text(req->client_id);
    m->client_host = dup_text(req->client_host);
    m->protocol_type = dup_text(req->protocol_type);
    m->heartbeat_deadline_ms = -1;
    member_set_protocols(m, req);
    return m;
}

void broker_group_member_set_assignment(broker_group_member *m, sl_bytes assignment) {
    sl_free(m->assignment);
    m->assignment = NULL;
    m->assignment_len = 0;
    if (assignment.len > 0) {
        m->assignment = sl_malloc((size_t)assignment.len);
        memcpy(m->assignment, assignment.ptr, (size_t)assignment.len);
        m->assignment_len = assignment.len;
    }
}

broker_group_member *broker_group_member_find(const broker_group *g, sl_str member_id) {
    if (member_id.len <= 0) return NULL;
    return sl_map_get(&g->member_index, member_id.ptr, (size_t)member_id.len);
}

broker_group_member *broker_group_member_by_instance(const broker_group *g, sl_str instance_id) {
    if (instance_id.len < 0) return NULL;
    for (int32_t i = 0; i < g->member_count; i++) {
        if (g->members[i]->instance_id && str_is(instance_id, g->members[i]->instance_id)) {
            return g->members[i];
        }
    }
    return NULL;
}

sl_bytes broker_group_member_metadata(const broker_group_member *m, const char *protocol) {
    for (int32_t i = 0; protocol && i < m->protocol_count; i++) {
        if (strcmp(m->protocols[i].name, protocol) == 0) {
            return (sl_bytes){ m->protocols[i].metadata, m->protocols[i].metadata_len };
        }
    }
    return (sl_bytes){ NULL, 0 };
}

static bool pending_has(const broker_group *g, sl_str member_id) {
    for (int32_t i = 0; i < g->pending_count; i++) {
        if (str_is(member_id, g->pending_members[i])) return true;
    }
    return false;
}

bool broker_group_pending_remove(broker_group *g, sl_str member_id) {
    for (int32_t i = 0; i < g->pending_count; i++) {
        if (!str_is(member_id, g->pending_members[i])) continue;
        sl_free(g->pending_members[i]);
        g->pending_count--;
        g->pending_members[i] = g->pending_members[g->pending_count];
        g->pending_deadline_ms[i] = g->pending_deadline_ms[g->pending_count];
        return true;
    }
    return false;
}

static void pending_add(broker_group *g, const char *member_id, int64_t deadline_ms) {
    if (g->pending_count == g->pending_cap) {
        g->pending_cap = g->pending_cap ? g->pending_cap * 2 : 4;
        g->pending_members =
            sl_realloc(g->pending_members, (size_t)g->pending_cap * sizeof(char *));
        g->pending_deadline_ms =
            sl_realloc(g->pending_deadline_ms, (size_t)g->pending_cap * sizeof(int64_t));
    }
    g->pending_members[g->pending_count] = sl_strdup(member_id);
    g->pending_deadline_ms[g->pending_count] = deadline_ms;
    g->pending_count++;
}

/* Kafka's GroupMetadata.add: the first member sets the protocol type and is the leader. */
static void member_add(broker_group *g, broker_group_member *m) {
    if (g->member_count == 0) {
        sl_free(g->protocol_type);
        g->protocol_type = sl_strdup(m->protocol_type);
    }
    SL_ASSERT(!broker_group_member_find(g, sl_str_c(m->member_id)));
    if (g->member_count == g->member_cap) {
        g->member_cap = g->member_cap ? g->member_cap * 2 : 4;
        g->members = sl_realloc(g->members, (size_t)g->member_cap * sizeof(*g->members));
    }
    g->members[g->member_count++] = m;
    sl_map_put(&g->member_index, m->member_id, strlen(m->member_id), m);
    if (!g->leader_id) g->leader_id = sl_strdup(m->member_id);
    broker_group_pending_remove(g, sl_str_c(m->member_id));
}

static bool is_leader(const broker_group *g, const char *member_id) {
    return g->leader_id && strcmp(g->leader_id, member_id) == 0;
}

static void set_leader(broker_group *g, const char *member_id) {
    char *copy = member_id ? sl_strdup(member_id) : NULL;
    sl_free(g->leader_id);
    g->leader_id = copy;
}

/* Take m out of g (Kafka's GroupMetadata.remove) without freeing it. */
static void member_detach(broker_group *g, broker_group_member *m) {
    int32_t i = 0;
    while (i < g->member_count && g->members[i] != m)
        i++;
    SL_ASSERT(i < g->member_count);
    memmove(&g->members[i], &g->members[i + 1],
            (size_t)(g->member_count - i - 1) * sizeof(*g->members));
    g->member_count--;
    sl_map_remove(&g->member_index, m->member_id, strlen(m->member_id));
    if (is_leader(g, m->member_id)) {
        set_leader(g, g->member_count ? g->members[0]->member_id : NULL);
    }
    broker_group_pending_remove(g, sl_str_c(m->member_id));
}

/* ---------------- answering parked requests ---------------- */

static void join_send(broker_group_core *core, void *waiter, const broker_group_join_result *res) {
    if (waiter) core->cb.join_done(core->cb.ctx, waiter, res);
}

void broker_group_join_fail(broker_group_core *core,
                            void *waiter,
                            sl_str member_id,
                            int16_t error) {
    broker_group_join_result res = { 0 };
    res.error = error;
    res.member_id = member_id.len < 0 ? sl_str_c("") : member_id;
    res.generation = -1;
    res.protocol_type = SL_STR_NULL;
    res.protocol_name = SL_STR_NULL;
    res.leader_id = sl_str_c("");
    join_send(core, waiter, &res);
}

/* Answer waiter with g's current generation; with_members for the leader's copy. */
static void join_send_generation(broker_group_core *core,
                                 const broker_group *g,
                                 void *waiter,
                                 sl_str member_id,
                                 sl_str leader_id,
                                 bool with_members,
                                 bool skip_assignment) {
    if (!waiter) return;
    broker_group_join_result res = { 0 };
    res.member_id = member_id;
    res.generation = g->generation;
    res.protocol_type = sl_str_c(g->protocol_type);
    res.protocol_name = sl_str_c(g->protocol_name);
    res.leader_id = leader_id;
    res.skip_assignment = skip_assignment;
    broker_group_join_member *members = NULL;
    if (with_members) {
        members = sl_calloc((size_t)g->member_count + 1, sizeof(*members));
        for (int32_t i = 0; i < g->member_count; i++) {
            const broker_group_member *m = g->members[i];
            members[i].member_id = sl_str_c(m->member_id);
            members[i].group_instance_id = sl_str_c(m->instance_id);
            members[i].metadata = broker_group_member_metadata(m, g->protocol_name);
        }
        res.members = members;
        res.member_count = g->member_count;
    }
    core->cb.join_done(core->cb.ctx, waiter, &res);
    sl_free(members);
}

/* Finish m's parked JoinGroup (Kafka's maybeInvokeJoinCallback): returns its waiter, which
 * may be NULL when the request went away; *was_awaiting tells whether it was parked. */
static void *member_take_join(broker_group_member *m, bool *was_awaiting) {
    *was_awaiting = m->awaiting_join;
    void *waiter = m->join_waiter;
    m->awaiting_join = false;
    m->join_waiter = NULL;
    return waiter;
}

void broker_group_member_join_error(broker_group_core *core,
                                    broker_group_member *m,
                                    sl_str member_id,
                                    int16_t error) {
    bool was;
    void *waiter = member_take_join(m, &was);
    if (was) broker_group_join_fail(core, waiter, member_id, error);
}

/* Kafka's maybeInvokeSyncCallback. Returns true when m had a parked SyncGroup. */
bool broker_group_member_sync_send(broker_group_core *core,
                                   broker_group_member *m,
                                   const broker_group_sync_result *res) {
    if (!m->awaiting_sync) return false;
    void *waiter = m->sync_waiter;
    m->awaiting_sync = false;
    m->sync_waiter = NULL;
    if (waiter) core->cb.sync_done(core->cb.ctx, waiter, res);
    return true;
}

void broker_group_member_sync_error(broker_group_core *core,
                                    broker_group_member *m,
                                    int16_t error) {
    broker_group_sync_result res = { error, SL_STR_NULL, SL_STR_NULL, { NULL, 0 } };
    broker_group_member_sync_send(core, m, &res);
}

/* Detach and free m; a request it still had parked is answered rather than left hanging. */
void broker_group_member_remove(broker_group_core *core, broker_group *g, broker_group_member *m) {
    broker_group_member_join_error(core, m, sl_str_c(""), E(UNKNOWN_MEMBER_ID));
    broker_group_member_sync_error(core, m, E(UNKNOWN_MEMBER_ID));
    member_detach(g, m);
    member_free(m);
}

/* ---------------- groups ---------------- */

static bool transition_valid(int from, int to) {
    switch (to) {
    case BROKER_GROUP_PREPARING_REBALANCE:
        return from == BROKER_GROUP_STABLE || from == BROKER_GROUP_COMPLETING_REBALANCE ||
               from == BROKER_GROUP_EMPTY;
    case BROKER_GROUP_COMPLETING_REBALANCE:
    case BROKER_GROUP_EMPTY:
        return from == BROKER_GROUP_PREPARING_REBALANCE;
    case BROKER_GROUP_STABLE:
        return from == BROKER_GROUP_COMPLETING_REBALANCE;
    default:
        return true; /* Dead */
    }
}

void broker_group_transition(broker_group *g, int state, broker_group_time now) {
    SL_ASSERT(transition_valid(g->state, state));
    g->state = state;
    g->state_timestamp_ms = now.wall_ms;
}

broker_group *broker_group_create(broker_group_core *core, sl_str group_id, broker_group_time now) {
    SL_ASSERT(group_id.len >= 0);
    broker_group *g = SL_NEW(broker_group);
    g->id = sl_strndup(group_id.len ? group_id.ptr : "", (size_t)group_id.len);
    g->id_len = (size_t)group_id.len;
    g->partition = broker_group_core_partition_for(core, group_id);
    g->incarnation = ++core->next_incarnation;
    g->state = BROKER_GROUP_EMPTY;
    g->state_timestamp_ms = now.wall_ms;
    g->join_deadline_ms = -1;
    g->sync_deadline_ms = -1;
    sl_map_init(&g->member_index);
    sl_map_init(&g->offsets);
    sl_map_put(&core->groups, g->id, g->id_len, g);
    return g;
}

static void subscribed_clear(broker_group *g) {
    for (int32_t i = 0; i < g->subscribed_count; i++)
        sl_free(g->subscribed_topics[i]);
    sl_free(g->subscribed_topics);
    g->subscribed_topics = NULL;
    g->subscribed_count = 0;
    g->subscribed_known = false;
}

void broker_group_remove(broker_group_core *core, broker_group *g) {
    sl_map_remove(&core->groups, g->id, g->id_len);
    while (g->member_count > 0) {
        broker_group_member *m = g->members[g->member_count - 1];
        broker_group_member_join_error(core, m, sl_str_c(m->member_id),
                                       E(COORDINATOR_NOT_AVAILABLE));
        broker_group_member_sync_error(core, m, E(COORDINATOR_NOT_AVAILABLE));
        member_detach(g, m);
        member_free(m);
    }
    while (g->pending_count > 0) {
        broker_group_pending_remove(g, sl_str_c(g->pending_members[0]));
    }
    broker_group_offsets_clear(g);
    subscribed_clear(g);
    sl_map_deinit(&g->member_index);
    sl_map_deinit(&g->offsets);
    sl_free(g->members);
    sl_free(g->pending_members);
    sl_free(g->pending_deadline_ms);
    sl_free(g->protocol_type);
    sl_free(g->protocol_name);
    sl_free(g->leader_id);
    sl_free(g->id);
    sl_free(g);
}

static int32_t group_rebalance_timeout(const broker_group *g) {
    int32_t t = 0;
    for (int32_t i = 0; i < g->member_count; i++) {
        if (g->members[i]->rebalance_timeout_ms > t) t = g->members[i]->rebalance_timeout_ms;
    }
    return t;
}

static int32_t group_awaiting_count(const broker_group *g) {
    int32_t n = 0;
    for (int32_t i = 0; i < g->member_count; i++)
        n += g->members[i]->awaiting_join;
    return n;
}

static bool group_all_joined(const broker_group *g) {
    return group_awaiting_count(g) == g->member_count && g->pending_count == 0;
}

/* ---------------- protocols ---------------- */

static bool member_supports(const broker_group_member *m, sl_str name) {
    for (int32_t i = 0; i < m->protocol_count; i++) {
        if (str_is(name, m->protocols[i].name)) return true;
    }
    return false;
}

static bool supported_by_all(const broker_group *g, sl_str name) {
    for (int32_t i = 0; i < g->member_count; i++) {
        if (!member_supports(g->members[i], name)) return false;
    }
    return true;
}

/* Kafka's supportsProtocols: an Empty group takes any non-empty type and protocol list;
 * otherwise the type must match and one of the protocols be supported by every member. */
static bool group_supports(const broker_group *g, const broker_group_join_request *req) {
    if (g->state == BROKER_GROUP_EMPTY) {
        return req->protocol_type.len > 0 && req->protocol_count > 0;
    }
    if (!g->protocol_type || !str_is(req->protocol_type, g->protocol_type)) return false;
    for (int32_t i = 0; i < req->protocol_count; i++) {
        if (supported_by_all(g, req->protocol_names[i])) return true;
    }
    return false;
}

/* Kafka's selectProtocol: among protocols every member supports, each member votes for its
 * most preferred; the most votes wins (ties: the first member's preference). Candidates are
 * a subset of the first member's protocols, so votes are counted against that list. */
static const char *group_select_protocol(const broker_group *g) {
    if (g->member_count == 0) return NULL;
    const broker_group_member *first = g->members[0];
    int32_t n = first->protocol_count;
    int32_t *votes = sl_calloc((size_t)n + 1, sizeof(int32_t));
    bool *candidate = sl_calloc((size_t)n + 1, sizeof(bool));
    for (int32_t k = 0; k < n; k++)
        candidate[k] = supported_by_all(g, sl_str_c(first->protocols[k].name));
    for (int32_t i = 0; i < g->member_count; i++) {
        const broker_group_member *m = g->members[i];
        bool voted = false;
        for (int32_t j = 0; j < m->protocol_count && !voted; j++) {
            for (int32_t k = 0; k < n; k++) {
                if (candidate[k] && strcmp(first->protocols[k].name, m->protocols[j].name) == 0) {
                    votes[k]++;
                    voted = true;
                    break;
                }
            }
        }
    }
    const char *best = NULL;
    int32_t best_votes = 0;
    for (int32_t k = 0; k < n; k++) {
        if (candidate[k] && votes[k] > best_votes) {
            best = first->protocols[k].name;
            best_votes = votes[k];
        }
    }
    sl_free(votes);
    sl_free(candidate);
    return best;
}

static bool member_matches(const broker_group_member *m, const broker_group_join_request *req) {
    if (m->protocol_count != req->protocol_count) return false;
    for (int32_t i = 0; i < m->protocol_count; i++) {
        sl_bytes md = req->protocol_metadata[i];
        int32_t len = md.len < 0 ? 0 : md.len;
        if (!str_is(req->protocol_names[i], m->protocols[i].name)) return false;
        if (len != m->protocols[i].metadata_len) return false;
        if (len && memcmp(md.ptr, m->protocols[i].metadata, (size_t)len) != 0) return false;
    }
    return true;
}

static void subscribed_add(broker_group *g, sl_str topic) {
    for (int32_t i = 0; i < g->subscribed_count; i++) {
        if (str_is(topic, g->subscribed_topics[i])) return;
    }
    g->subscribed_topics =
        sl_realloc(g->subscribed_topics, (size_t)(g->subscribed_count + 1) * sizeof(char *));
    g->subscribed_topics[g->subscribed_count++] = dup_text(topic);
}

/* Kafka's computeSubscribedTopics: known only for "consumer" groups whose members' metadata
 * parses (an empty consumer group subscribes to nothing). */
void broker_group_compute_subscribed(broker_group *g) {
    subscribed_clear(g);
    if (!g->protocol_type || strcmp(g->protocol_type, "consumer") != 0) return;
    if (g->member_count == 0) {
        g->subscribed_known = true;
        return;
    }
    if (!g->protocol_name) return;
    sl_arena arena;
    sl_arena_init(&arena);
    bool ok = true;
    for (int32_t i = 0; i < g->member_count && ok; i++) {
        sl_str *topics;
        int32_t n;
        sl_bytes md = broker_group_member_metadata(g->members[i], g->protocol_name);
        ok = broker_group_subscription_topics(md, &arena, &topics, &n) == SL_OK;
        for (int32_t k = 0; ok && k < n; k++)
            subscribed_add(g, topics[k]);
    }
    sl_arena_deinit(&arena);
    if (!ok) {
        subscribed_clear(g);
        return;
    }
    g->subscribed_known = true;
}

bool broker_group_subscribed_to(const broker_group *g, sl_str topic) {
    if (!g->subscribed_known) return true; /* unknown: assume subscribed, as Kafka does */
    for (int32_t i = 0; i < g->subscribed_count; i++) {
        if (str_is(topic, g->subscribed_topics[i])) return true;
    }
    return false;
}

/* ---------------- outstanding appends ---------------- */

broker_group_op *broker_group_op_new(broker_group_core *core, int kind, const broker_group *g) {
    broker_group_op *op = SL_NEW(broker_group_op);
    op->kind = kind;
    op->group_id = sl_strndup(g->id, g->id_len);
    op->group_id_len = g->id_len;
    op->incarnation = g->incarnation;
    op->generation = g->generation;
    op->next = core->ops;
    if (core->ops) core->ops->prev = op;
    core->ops = op;
    core->op_count++;
    return op;
}

/* The group an op was started for, or NULL when it has since been removed or replaced. */
broker_group *broker_group_op_group(const broker_group_core *core, const broker_group_op *op) {
    broker_group *g =
        broker_group_core_find(core, (sl_str){ op->group_id, (int32_t)op->group_id_len });
    return g && g->incarnation == op->incarnation ? g : NULL;
}

void broker_group_op_free(broker_group_core *core, broker_group_op *op) {
    if (op->prev) {
        op->prev->next = op->next;
    } else {
        core->ops = op->next;
    }
    if (op->next) op->next->prev = op->prev;
    core->op_count--;
    switch (op->kind) {
    case BROKER_GROUP_OP_COMMIT:
        broker_group_commit_op_free(op);
        break;
    case BROKER_GROUP_OP_SYNC:
    case BROKER_GROUP_OP_STATIC_JOIN:
        broker_group_member_op_free(op);
        break;
    default:
        break;
    }
    sl_free(op->group_id);
    sl_free(op);
}

void broker_group_append(broker_group_core *core,
                         int32_t partition,
                         broker_group_records *rs,
                         broker_group_op *op) {
    broker_group_record *recs = sl_calloc((size_t)rs->count + 1, sizeof(*recs));
    broker_group_records_view(rs, recs);
    core->cb.append(core->cb.ctx, partition, recs, rs->count, op);
    sl_free(recs);
}

void broker_group_core_append_done(broker_group_core *core,
                                   broker_group_op *op,
                                   int16_t error,
                                   int64_t base_offset,
                                   broker_group_time now) {
    switch (op->kind) {
    case BROKER_GROUP_OP_COMMIT:
        broker_group_commit_op_done(core, op, error, base_offset);
        break;
    case BROKER_GROUP_OP_SYNC:
        broker_group_sync_stored(core, op, error, now);
        break;
    case BROKER_GROUP_OP_STATIC_JOIN:
        broker_group_static_join_stored(core, op, error, now);
        break;
    default:
        if (error) {
            SL_LOG(SL_WARN, "group", "empty_group_store_failed", "group=%s error=%s", op->group_id,
                   protocol_error_name(error));
        }
        break;
    }
    broker_group_op_free(core, op);
}

/* Persist g as it is now (Kafka's storeGroup with the members' assignments). */
void broker_group_store(broker_group_core *core,
                        broker_group *g,
                        const sl_bytes *assignments,
                        broker_group_op *op) {
    broker_group_records rs;
    broker_group_records_init(&rs);
    broker_group_records_add_group(&rs, g, assignments);
    broker_group_append(core, g->partition, &rs, op);
    broker_group_records_deinit(&rs);
}

/* ---------------- rebalance ---------------- */

/* Kafka's completeAndScheduleNextExpiration: a member waiting in a rebalance needs no
 * heartbeat (its timer completes at once), unless it is new — new members expire after
 * timeout_ms even while parked. */
void broker_group_heartbeat_schedule(broker_group *g,
                                     broker_group_member *m,
                                     int64_t timeout_ms,
                                     broker_group_time now) {
    (void)g;
    if (!m->is_new && (m->awaiting_join || m->awaiting_sync)) {
        m->heartbeat_deadline_ms = -1;
    } else {
        m->heartbeat_deadline_ms = now.mono_ms + timeout_ms;
    }
}

/* Kafka's prepareRebalance. */
void broker_group_prepare_rebalance(broker_group_core *core,
                                    broker_group *g,
                                    const char *reason,
                                    broker_group_time now) {
    if (g->state == BROKER_GROUP_COMPLETING_REBALANCE) {
        broker_group_propagate_error(core, g, E(REBALANCE_IN_PROGRESS), now);
    }
    for (int32_t i = 0; i < g->member_count; i++)
        g->members[i]->pending_sync = false;
    g->sync_deadline_ms = -1;
    int32_t timeout = group_rebalance_timeout(g);
    if (g->state == BROKER_GROUP_EMPTY) {
        int32_t delay = core->cfg.initial_rebalance_delay_ms;
        g->join_initial = true;
        g->join_initial_delay_ms = delay;
        g->join_initial_remaining_ms = timeout > delay ? timeout - delay : 0;
        g->join_deadline_ms = now.mono_ms + delay;
    } else {
        g->join_initial = false;
        g->join_deadline_ms = now.mono_ms + timeout;
    }
    SL_LOG(SL_INFO, "group", "rebalance_preparing",
           "group=%s state=%s generation=%d "
           "partition=%d reason=\"%s\"",
           g->id, broker_group_state_name(g->state), g->generation, g->partition, reason);
    broker_group_transition(g, BROKER_GROUP_PREPARING_REBALANCE, now);
    broker_group_try_complete_join(core, g, now);
}

void broker_group_maybe_prepare_rebalance(broker_group_core *core,
                                          broker_group *g,
                                          const char *reason,
                                          broker_group_time now) {
    if (g->state == BROKER_GROUP_STABLE || g->state == BROKER_GROUP_COMPLETING_REBALANCE ||
        g->state == BROKER_GROUP_EMPTY) {
        broker_group_prepare_rebalance(core, g, reason, now);
    }
}

/* Kafka's maybeElectNewJoinedLeader. */
static bool elect_joined_leader(broker_group *g) {
    if (!g->leader_id) return false;
    broker_group_member *leader = broker_group_member_find(g, sl_str_c(g->leader_id));
    if (leader && leader->awaiting_join) return true;
    for (int32_t i = 0; i < g->member_count; i++) {
        if (g->members[i]->awaiting_join) {
            SL_LOG(SL_INFO, "group", "leader_replaced", "group=%s old=%s new=%s", g->id,
                   g->leader_id, g->members[i]->member_id);
            set_leader(g, g->members[i]->member_id);
            return true;
        }
    }
    return false;
}

static void init_next_generation(broker_group *g, broker_group_time now) {
    g->generation++;
    char *protocol = NULL;
    if (g->member_count > 0) {
        const char *selected = group_select_protocol(g);
        protocol = selected ? sl_strdup(selected) : NULL;
    }
    sl_free(g->protocol_name);
    g->protocol_name = protocol;
    broker_group_compute_subscribed(g);
    broker_group_transition(
        g, g->member_count > 0 ? BROKER_GROUP_COMPLETING_REBALANCE : BROKER_GROUP_EMPTY, now);
    for (int32_t i = 0; i < g->member_count; i++)
        g->members[i]->pending_sync = false;
}

/* Answer every parked JoinGroup with the new generation (Kafka's onCompleteJoin, tail). */
static void complete_join_answer(broker_group_core *core, broker_group *g, broker_group_time now) {
    SL_LOG(SL_INFO, "group", "rebalance_joined",
           "group=%s generation=%d members=%d "
           "protocol=%s leader=%s",
           g->id, g->generation, g->member_count, g->protocol_name ? g->protocol_name : "",
           g->leader_id ? g->leader_id : "");
    for (int32_t i = 0; i < g->member_count; i++) {
        broker_group_member *m = g->members[i];
        bool was;
        void *waiter = member_take_join(m, &was);
        if (was) {
            join_send_generation(core, g, waiter, sl_str_c(m->member_id),
                                 view_or_empty(g->leader_id), is_leader(g, m->member_id), false);
        }
        broker_group_heartbeat_schedule(g, m, m->session_timeout_ms, now);
        m->is_new = false;
        m->pending_sync = true;
    }
    g->sync_deadline_ms = now.mono_ms + group_rebalance_timeout(g);
    g->sync_generation = g->generation;
}

/* Kafka's onCompleteJoin. */
static void complete_join(broker_group_core *core, broker_group *g, broker_group_time now) {
    g->join_deadline_ms = -1;
    for (int32_t i = 0; i < g->member_count;) {
        broker_group_member *m = g->members[i];
        if (m->awaiting_join || m->instance_id) {
            i++;
            continue;
        }
        SL_LOG(SL_INFO, "group", "member_not_rejoined", "group=%s member=%s", g->id, m->member_id);
        broker_group_member_remove(core, g, m);
    }
    if (g->state == BROKER_GROUP_DEAD) return;
    if (!elect_joined_leader(g) && g->member_count > 0) {
        /* only static members that did not rejoin remain: wait for their sessions */
        SL_LOG(SL_WARN, "group", "rebalance_stalled", "group=%s members=%d", g->id,
               g->member_count);
        g->join_initial = false;
        g->join_deadline_ms = now.mono_ms + group_rebalance_timeout(g);
        return;
    }
    init_next_generation(g, now);
    if (g->state == BROKER_GROUP_EMPTY) {
        SL_LOG(SL_INFO, "group", "group_empty", "group=%s generation=%d", g->id, g->generation);
        broker_group_store(core, g, NULL, broker_group_op_new(core, BROKER_GROUP_OP_EMPTY, g));
        return;
    }
    complete_join_answer(core, g, now);
}

/* Kafka's DelayedJoin.tryComplete (the initial delayed join never completes early). */
void broker_group_try_complete_join(broker_group_core *core,
                                    broker_group *g,
                                    broker_group_time now) {
    if (g->state != BROKER_GROUP_PREPARING_REBALANCE || g->join_initial) return;
    if (g->join_deadline_ms >= 0 && group_all_joined(g)) complete_join(core, g, now);
}

/* The rebalance timer fired (Kafka's DelayedJoin / InitialDelayedJoin expiry). */
void broker_group_join_expired(broker_group_core *core, broker_group *g, broker_group_time now) {
    if (g->join_initial && g->new_member_added && g->join_initial_remaining_ms != 0) {
        int32_t configured = core->cfg.initial_rebalance_delay_ms;
        int32_t remaining = g->join_initial_remaining_ms;
        int32_t delay = configured < remaining ? configured : remaining;
        int32_t left = remaining - g->join_initial_delay_ms;
        g->new_member_added = false;
        g->join_initial_delay_ms = delay;
        g->join_initial_remaining_ms = left > 0 ? left : 0;
        g->join_deadline_ms = now.mono_ms + delay;
        return;
    }
    complete_join(core, g, now);
}

/* ---------------- loading ---------------- */

/* Fill a freshly created group from its latest GroupMetadataValue (Kafka's
 * readGroupMessageValue + onGroupLoaded): Stable with its members, or Empty without. Each
 * member supports just the group's protocol, with its stored subscription. */
void broker_group_load_metadata(broker_group_core *core,
                                broker_group *g,
                                const protocol_GroupMetadataValue *v,
                                broker_group_time now) {
    sl_free(g->protocol_type);
    g->protocol_type = v->protocolType.len > 0 ? dup_text(v->protocolType) : NULL;
    g->protocol_name = dup_view(v->protocol);
    g->generation = v->generation;
    g->state_timestamp_ms = v->currentStateTimestamp;
    for (int32_t i = 0; i < v->members.count; i++) {
        const protocol_GroupMetadataValue_MemberMetadata *mm = &v->members.items[i];
        if (broker_group_member_find(g, mm->memberId)) continue; /* duplicate in the record */
        sl_str name = view_or_empty(g->protocol_name);
        sl_bytes md = mm->subscription.len < 0 ? (sl_bytes){ NULL, 0 } : mm->subscription;
        broker_group_join_request req = { 0 };
        req.group_instance_id = mm->groupInstanceId;
        req.client_id = mm->clientId;
        req.client_host = mm->clientHost;
        req.protocol_type = view_or_empty(g->protocol_type);
        req.session_timeout_ms = mm->sessionTimeout;
        req.rebalance_timeout_ms = mm->rebalanceTimeout;
        req.protocol_names = &name;
        req.protocol_metadata = &md;
        req.protocol_count = g->protocol_name ? 1 : 0;
        char *id = dup_text(mm->memberId);
        broker_group_member *m = member_new(&req, id);
        sl_free(id);
        broker_group_member_set_assignment(m, mm->assignment);
        member_add(g, m);
        broker_group_heartbeat_schedule(g, m, m->session_timeout_ms, now);
    }
    /* member_add made the first member leader and took its protocol type: use the record's */
    char *leader = v->leader.len >= 0 && g->member_count ? dup_text(v->leader) : NULL;
    set_leader(g, leader);
    sl_free(leader);
    sl_free(g->protocol_type);
    g->protocol_type = v->protocolType.len > 0 ? dup_text(v->protocolType) : NULL;
    g->state = g->member_count ? BROKER_GROUP_STABLE : BROKER_GROUP_EMPTY;
    broker_group_compute_subscribed(g);
    if (g->member_count > core->cfg.max_size) {
        broker_group_prepare_rebalance(core, g, "loaded group over group.max.size", now);
    }
}

/* ---------------- JoinGroup ---------------- */

/* Kafka's acceptJoiningMember (group.max.size). */
static bool
accept_joining_member(const broker_group_core *core, const broker_group *g, sl_str member_id) {
    const broker_group_member *m = broker_group_member_find(g, member_id);
    switch (g->state) {
    case BROKER_GROUP_PREPARING_REBALANCE:
        return (m && m->awaiting_join) || group_awaiting_count(g) < core->cfg.max_size;
    case BROKER_GROUP_COMPLETING_REBALANCE:
    case BROKER_GROUP_STABLE:
        return m || g->member_count < core->cfg.max_size;
    default:
        return true;
    }
}

/* <client.id or group.instance.id>-<random UUID>, as Kafka's generateMemberId. */
static void member_id_generate(broker_group_core *core,
                               const broker_group_join_request *req,
                               char *out,
                               size_t out_size) {
    sl_str prefix = req->group_instance_id.len >= 0 ? req->group_instance_id : req->client_id;
    uint8_t u[16];
    for (int i = 0; i < 16; i += 8) {
        uint64_t r = sl_rand_u64(&core->rng);
        memcpy(u + i, &r, 8);
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* IETF variant */
    int plen = prefix.len > 0 ? prefix.len : 0;
    if ((size_t)plen > out_size - 40) plen = (int)(out_size - 40);
    snprintf(out, out_size,
             "%.*s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x"
             "%02x%02x",
             plen, plen ? prefix.ptr : "", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8],
             u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static void add_member_and_rebalance(broker_group_core *core,
                                     broker_group *g,
                                     const broker_group_join_request *req,
                                     const char *member_id,
                                     broker_group_time now,
                                     void *waiter) {
    broker_group_member *m = member_new(req, member_id);
    m->is_new = true;
    if (g->state == BROKER_GROUP_PREPARING_REBALANCE && g->generation == 0) {
        g->new_member_added = true;
    }
    member_add(g, m);
    m->awaiting_join = true;
    m->join_waiter = waiter;
    broker_group_heartbeat_schedule(g, m, BROKER_GROUP_NEW_MEMBER_TIMEOUT_MS, now);
    SL_LOG(SL_INFO, "group", "member_added", "group=%s member=%s instance=%s client=%s", g->id,
           m->member_id, m->instance_id ? m->instance_id : "", m->client_id);
    broker_group_maybe_prepare_rebalance(core, g, "new member", now);
}

/* Kafka's updateMember: new protocols and timeouts; waiter (non-NULL) parks the member. */
static void update_member(broker_group_core *core,
                          broker_group_member *m,
                          const broker_group_join_request *req,
                          void *waiter) {
    member_set_protocols(m, req);
    if (m->awaiting_join && m->join_waiter && m->join_waiter != waiter) {
        /* superseded by a newer JoinGroup of the same member: do not leave it hanging */
        broker_group_join_fail(core, m->join_waiter, sl_str_c(m->member_id),
                               E(REBALANCE_IN_PROGRESS));
    }
    m->awaiting_join = waiter != NULL;
    m->join_waiter = waiter;
}

typedef struct static_join_data {
    char *old_member_id;
    char *new_member_id;
    char *old_leader_id; /* the leader before the replacement (may be NULL) */
    broker_group_protocol *old_protocols;
    int32_t old_protocol_count;
    int32_t old_rebalance_timeout_ms, old_session_timeout_ms;
    bool support_skip_assignment;
} static_join_data;

/* Kafka's replaceStaticMember: the new member id takes over; a request the old id still had
 * parked is fenced. */
static void replace_static_member(broker_group_core *core,
                                  broker_group *g,
                                  broker_group_member *m,
                                  const char *new_member_id) {
    broker_group_member_join_error(core, m, sl_str_c(m->member_id), E(FENCED_INSTANCE_ID));
    broker_group_member_sync_error(core, m, E(FENCED_INSTANCE_ID));
    bool leader = is_leader(g, m->member_id);
    sl_map_remove(&g->member_index, m->member_id, strlen(m->member_id));
    sl_free(m->member_id);
    m->member_id = sl_strdup(new_member_id);
    sl_map_put(&g->member_index, m->member_id, strlen(m->member_id), m);
    if (leader) set_leader(g, new_member_id);
}

/* A Stable group: persist the replaced member id; answered when stored (Kafka keeps the
 * assignment, so no rebalance). */
static void static_join_store(broker_group_core *core,
                              broker_group *g,
                              broker_group_member *m,
                              static_join_data *d) {
    broker_group_op *op = broker_group_op_new(core, BROKER_GROUP_OP_STATIC_JOIN, g);
    op->data = d;
    d->new_member_id = sl_strdup(m->member_id);
    broker_group_store(core, g, NULL, op);
}

static void update_static_member_and_rebalance(broker_group_core *core,
                                               broker_group *g,
                                               broker_group_member *m,
                                               const broker_group_join_request *req,
                                               const char *new_member_id,
                                               broker_group_time now,
                                               void *waiter) {
    static_join_data *d = SL_NEW(static_join_data);
    d->old_member_id = sl_strdup(m->member_id);
    d->old_leader_id = g->leader_id ? sl_strdup(g->leader_id) : NULL;
    d->support_skip_assignment = req->support_skip_assignment;
    replace_static_member(core, g, m, new_member_id);
    broker_group_heartbeat_schedule(g, m, m->session_timeout_ms, now);
    d->old_protocols = m->protocols;
    d->old_protocol_count = m->protocol_count;
    d->old_rebalance_timeout_ms = m->rebalance_timeout_ms;
    d->old_session_timeout_ms = m->session_timeout_ms;
    m->protocols = NULL;
    m->protocol_count = 0;
    update_member(core, m, req, waiter);
    SL_LOG(SL_INFO, "group", "static_member_replaced",
           "group=%s instance=%s old=%s new=%s "
           "state=%s",
           g->id, m->instance_id, d->old_member_id, new_member_id,
           broker_group_state_name(g->state));
    const char *selected = g->state == BROKER_GROUP_STABLE ? group_select_protocol(g) : NULL;
    if (selected && g->protocol_name && strcmp(selected, g->protocol_name) == 0) {
        static_join_store(core, g, m, d);
        return;
    }
    broker_group_static_join_data_free(d);
    if (g->state == BROKER_GROUP_STABLE) {
        broker_group_maybe_prepare_rebalance(core, g, "static member changed protocol", now);
    } else if (g->state == BROKER_GROUP_COMPLETING_REBALANCE) {
        broker_group_prepare_rebalance(core, g, "static member rejoined", now);
    }
    /* PreparingRebalance: it simply waits with the others */
}

void broker_group_static_join_data_free(void *data) {
    static_join_data *d = data;
    if (!d) return;
    sl_free(d->old_member_id);
    sl_free(d->new_member_id);
    sl_free(d->old_leader_id);
    protocols_free(d->old_protocols, d->old_protocol_count);
    sl_free(d);
}

/* The replaced static member's metadata was written (or not). */
void broker_group_static_join_stored(broker_group_core *core,
                                     broker_group_op *op,
                                     int16_t error,
                                     broker_group_time now) {
    static_join_data *d = op->data;
    broker_group *g = broker_group_op_group(core, op);
    broker_group_member *m = g ? broker_group_member_find(g, sl_str_c(d->new_member_id)) : NULL;
    if (!m || !m->awaiting_join) return; /* answered meanwhile (rebalance, removal) */
    bool was;
    void *waiter = member_take_join(m, &was);
    if (error) {
        SL_LOG(SL_WARN, "group", "static_member_store_failed", "group=%s error=%s", g->id,
               protocol_error_name(error));
        protocols_free(m->protocols, m->protocol_count);
        m->protocols = d->old_protocols;
        m->protocol_count = d->old_protocol_count;
        m->rebalance_timeout_ms = d->old_rebalance_timeout_ms;
        m->session_timeout_ms = d->old_session_timeout_ms;
        d->old_protocols = NULL;
        d->old_protocol_count = 0;
        replace_static_member(core, g, m, d->old_member_id);
        broker_group_heartbeat_schedule(g, m, m->session_timeout_ms, now);
        broker_group_join_result res = { 0 };
        res.error = broker_group_store_error(error);
        res.member_id = sl_str_c("");
        res.generation = g->generation;
        res.protocol_type = sl_str_c(g->protocol_type);
        res.protocol_name = sl_str_c(g->protocol_name);
        res.leader_id = view_or_empty(d->old_leader_id);
        join_send(core, waiter, &res);
        return;
    }
    if (d->support_skip_assignment) {
        /* JoinGroup v9 (KIP-814): the leader learns it leads but skips the assignor */
        bool leader = is_leader(g, m->member_id);
        join_send_generation(core, g, waiter, sl_str_c(m->member_id), view_or_empty(g->leader_id),
                             leader, leader);
    } else {
        /* older clients: name the previous leader id so nobody runs a needless assignment */
        join_send_generation(core, g, waiter, sl_str_c(m->member_id),
                             view_or_empty(d->old_leader_id), false, false);
    }
}

static void join_new_member(broker_group_core *core,
                            broker_group *g,
                            const broker_group_join_request *req,
                            broker_group_time now,
                            void *waiter) {
    if (g->state == BROKER_GROUP_DEAD) {
        broker_group_join_fail(core, waiter, sl_str_c(""), E(COORDINATOR_NOT_AVAILABLE));
        return;
    }
    if (!group_supports(g, req)) {
        broker_group_join_fail(core, waiter, sl_str_c(""), E(INCONSISTENT_GROUP_PROTOCOL));
        return;
    }
    char member_id[512];
    member_id_generate(core, req, member_id, sizeof(member_id));
    if (req->group_instance_id.len >= 0) {
        broker_group_member *m = broker_group_member_by_instance(g, req->group_instance_id);
        if (m) {
            update_static_member_and_rebalance(core, g, m, req, member_id, now, waiter);
        } else {
            add_member_and_rebalance(core, g, req, member_id, now, waiter);
        }
        return;
    }
    if (req->require_known_member_id) {
        /* KIP-394: hand out the id first, so a client that times out cannot leave
         * anonymous members behind */
        pending_add(g, member_id, now.mono_ms + req->session_timeout_ms);
        broker_group_join_fail(core, waiter, sl_str_c(member_id), E(MEMBER_ID_REQUIRED));
        return;
    }
    add_member_and_rebalance(core, g, req, member_id, now, waiter);
}

int16_t
broker_group_validate_member(const broker_group *g, sl_str member_id, sl_str group_instance_id) {
    if (group_instance_id.len >= 0) {
        const broker_group_member *s = broker_group_member_by_instance(g, group_instance_id);
        if (!s) return E(UNKNOWN_MEMBER_ID);
        if (!str_is(member_id, s->member_id)) return E(FENCED_INSTANCE_ID);
        return E(NONE);
    }
    return broker_group_member_find(g, member_id) ? E(NONE) : E(UNKNOWN_MEMBER_ID);
}

static void join_current_stable_or_completing(broker_group_core *core,
                                              broker_group *g,
                                              broker_group_member *m,
                                              const broker_group_join_request *req,
                                              broker_group_time now,
                                              void *waiter) {
    bool matches = member_matches(m, req);
    bool leader = is_leader(g, m->member_id);
    bool rebalance = g->state == BROKER_GROUP_STABLE ? (leader || !matches) : !matches;
    if (rebalance) {
        /* a leader's rejoin lets it react to metadata changes (new partitions …) */
        update_member(core, m, req, waiter);
        broker_group_maybe_prepare_rebalance(
            core, g, leader ? "leader rejoined" : "member metadata changed", now);
        return;
    }
    /* the same metadata again (a lost JoinGroup response): the current generation */
    join_send_generation(core, g, waiter, sl_str_c(m->member_id), view_or_empty(g->leader_id),
                         g->state == BROKER_GROUP_COMPLETING_REBALANCE && leader, false);
}

static void join_current_member(broker_group_core *core,
                                broker_group *g,
                                const broker_group_join_request *req,
                                broker_group_time now,
                                void *waiter) {
    if (g->state == BROKER_GROUP_DEAD) {
        broker_group_join_fail(core, waiter, req->member_id, E(COORDINATOR_NOT_AVAILABLE));
        return;
    }
    if (!group_supports(g, req)) {
        broker_group_join_fail(core, waiter, req->member_id, E(INCONSISTENT_GROUP_PROTOCOL));
        return;
    }
    if (pending_has(g, req->member_id)) {
        char *id = dup_text(req->member_id);
        if (req->group_instance_id.len >= 0) {
            /* pending ids are dynamic only; Kafka treats this as illegal state */
            broker_group_join_fail(core, waiter, req->member_id, E(UNKNOWN_MEMBER_ID));
        } else {
            add_member_and_rebalance(core, g, req, id, now, waiter);
        }
        sl_free(id);
        return;
    }
    int16_t err = broker_group_validate_member(g, req->member_id, req->group_instance_id);
    if (err) {
        broker_group_join_fail(core, waiter, req->member_id, err);
        return;
    }
    broker_group_member *m = broker_group_member_find(g, req->member_id);
    switch (g->state) {
    case BROKER_GROUP_PREPARING_REBALANCE:
        update_member(core, m, req, waiter);
        broker_group_maybe_prepare_rebalance(core, g, "member rejoined", now);
        break;
    case BROKER_GROUP_COMPLETING_REBALANCE:
    case BROKER_GROUP_STABLE:
        join_current_stable_or_completing(core, g, m, req, now, waiter);
        break;
    default:
        broker_group_join_fail(core, waiter, req->member_id, E(UNKNOWN_MEMBER_ID));
        break;
    }
}

void broker_group_core_join(broker_group_core *core,
                            const broker_group_join_request *req,
                            broker_group_time now,
                            void *waiter) {
    int16_t err = broker_group_status(core, req->group_id, false);
    if (err) {
        broker_group_join_fail(core, waiter, req->member_id, err);
        return;
    }
    if (req->session_timeout_ms < core->cfg.min_session_timeout_ms ||
        req->session_timeout_ms > core->cfg.max_session_timeout_ms) {
        broker_group_join_fail(core, waiter, req->member_id, E(INVALID_SESSION_TIMEOUT));
        return;
    }
    bool unknown = req->member_id.len <= 0;
    broker_group *g = broker_group_core_find(core, req->group_id);
    if (!g) {
        if (!unknown) {
            broker_group_join_fail(core, waiter, req->member_id, E(UNKNOWN_MEMBER_ID));
            return;
        }
        g = broker_group_create(core, req->group_id, now);
    }
    if (!accept_joining_member(core, g, req->member_id)) {
        broker_group_member *m = broker_group_member_find(g, req->member_id);
        if (m) broker_group_member_remove(core, g, m);
        broker_group_pending_remove(g, req->member_id);
        broker_group_join_fail(core, waiter, sl_str_c(""), E(GROUP_MAX_SIZE_REACHED));
    } else if (unknown) {
        join_new_member(core, g, req, now, waiter);
    } else {
        join_current_member(core, g, req, now, waiter);
    }
    broker_group_try_complete_join(core, g, now);
}
