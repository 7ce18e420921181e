/* controller_partition.c — leader election, ISR and ELR changes, reassignment steps.
 *
 * The rules (docs/replication.md has the prose):
 *  - election: first live ISR member in replica order; else first live ELR member; else,
 *    if unclean.leader.election.enable, first live replica (recorded as unclean, the
 *    partition is marked recovering); else no leader.
 *  - the ISR is never empty: removing its last member leaves that member in the ISR with
 *    no leader, so it is elected again the moment it returns.
 *  - KIP-966 strict min-ISR: when a change would leave fewer than min.insync.replicas in
 *    the ISR, the members removed go to the ELR. The broker freezes the high watermark
 *    while ISR < min.insync.replicas, so ELR members hold every committed offset and may
 *    lead without loss. A member that rejoins the ISR leaves the ELR; once the ISR is back
 *    at min.insync.replicas the ELR is cleared.
 *  - every leader change starts a new leader epoch (the record carries the leader field). */
#include "controller/controller_int.h"
#include "common/sl_alloc.h"

#include <stdlib.h>
#include <string.h>

#define IDS_MAX 64 /* replicas per partition; placement and reassignment check it */

static bool broker_live(const metadata_image *img, int32_t id) {
    return metadata_broker_is_live(metadata_image_broker(img, id));
}

int32_t controller_choose_leader(const metadata_image *img, const metadata_partition *p,
                                 bool unclean_allowed, bool *unclean_out) {
    *unclean_out = false;
    for (int32_t i = 0; i < p->replicas.count; i++) {
        int32_t id = p->replicas.ids[i];
        if (metadata_ids_contains(&p->isr, id) && broker_live(img, id)) return id;
    }
    for (int32_t i = 0; i < p->replicas.count; i++) {
        int32_t id = p->replicas.ids[i];
        if (metadata_ids_contains(&p->elr, id) && broker_live(img, id)) return id;
    }
    if (!unclean_allowed) return -1;
    for (int32_t i = 0; i < p->replicas.count; i++) {
        if (broker_live(img, p->replicas.ids[i])) {
            *unclean_out = true;
            return p->replicas.ids[i];
        }
    }
    return -1;
}

/* ids minus one member. */
static int32_t ids_without(const metadata_ids *ids, int32_t drop, int32_t *out) {
    int32_t n = 0;
    for (int32_t i = 0; i < ids->count && n < IDS_MAX; i++) {
        if (ids->ids[i] != drop) out[n++] = ids->ids[i];
    }
    return n;
}

/* ids plus one member (if absent). */
static int32_t ids_with(const metadata_ids *ids, int32_t add, int32_t *out) {
    int32_t n = 0;
    for (int32_t i = 0; i < ids->count && n < IDS_MAX; i++) out[n++] = ids->ids[i];
    if (!metadata_ids_contains(ids, add) && n < IDS_MAX) out[n++] = add;
    return n;
}

bool controller_partition_remove_broker(const metadata_image *img, const metadata_topic *t,
                                        const metadata_partition *p, int32_t broker_id,
                                        const controller_defaults *d, metadata_batch_builder *bb) {
    bool in_isr = metadata_ids_contains(&p->isr, broker_id);
    if (!in_isr && p->leader != broker_id) return false;
    metadata_partition_change c;
    metadata_partition_change_init(&c);
    int32_t isr[IDS_MAX], elr[IDS_MAX];
    metadata_ids new_isr = { isr, 0 }, new_elr = { elr, 0 };
    if (in_isr && p->isr.count > 1) { /* the ISR is never emptied */
        new_isr.count = ids_without(&p->isr, broker_id, isr);
        c.isr = &new_isr;
        if (new_isr.count < controller_topic_min_isr(img, t, d)) {
            new_elr.count = ids_with(&p->elr, broker_id, elr);
            c.elr = &new_elr;
        }
    }
    if (p->leader == broker_id) {
        /* elect from what remains: a temporary view with the new ISR and ELR */
        metadata_partition view = *p;
        if (c.isr) view.isr = new_isr;
        if (c.elr) view.elr = new_elr;
        metadata_ids only_others = { isr, 0 };
        if (!c.isr) { /* broker was the last ISR member: it cannot lead while it is down */
            only_others.count = 0;
            view.isr = only_others;
        }
        bool unclean = false;
        int32_t leader = controller_choose_leader(img, &view, controller_topic_unclean(img, t, d),
                                                  &unclean);
        if (leader == broker_id) leader = -1;
        c.leader = leader;
        if (leader >= 0 && !metadata_ids_contains(&view.isr, leader)) {
            /* elected from the ELR or uncleanly: the ISR restarts with the new leader */
            isr[0] = leader;
            new_isr.count = 1;
            c.isr = &new_isr;
            if (c.elr || p->elr.count) {
                new_elr.count = ids_without(c.elr ? &new_elr : &p->elr, leader, elr);
                c.elr = &new_elr;
            }
            c.unclean = unclean;
            if (unclean) c.leader_recovering = 1;
        }
    }
    if (!c.isr && c.leader == METADATA_UNCHANGED) return false;
    metadata_batch_add_partition_change(bb, &t->id, p->id, &c);
    return true;
}

bool controller_partition_try_elect(const metadata_image *img, const metadata_topic *t,
                                    const metadata_partition *p, const controller_defaults *d,
                                    metadata_batch_builder *bb) {
    if (p->leader >= 0) return false;
    bool unclean = false;
    int32_t leader = controller_choose_leader(img, p, controller_topic_unclean(img, t, d), &unclean);
    if (leader < 0) return false;
    metadata_partition_change c;
    metadata_partition_change_init(&c);
    c.leader = leader;
    int32_t isr[IDS_MAX], elr[IDS_MAX];
    metadata_ids new_isr = { isr, 1 }, new_elr = { elr, 0 };
    if (!metadata_ids_contains(&p->isr, leader)) {
        isr[0] = leader; /* ELR or unclean winner: the ISR restarts with it */
        c.isr = &new_isr;
        new_elr.count = ids_without(&p->elr, leader, elr);
        c.elr = &new_elr;
        c.unclean = unclean;
        if (unclean) c.leader_recovering = 1;
    }
    metadata_batch_add_partition_change(bb, &t->id, p->id, &c);
    return true;
}

int16_t controller_partition_elect_preferred(const metadata_image *img, const metadata_topic *t,
                                             const metadata_partition *p,
                                             metadata_batch_builder *bb) {
    int32_t preferred = p->replicas.ids[0];
    if (p->leader == preferred) return PROTOCOL_ERR_ELECTION_NOT_NEEDED;
    if (!metadata_ids_contains(&p->isr, preferred) || !broker_live(img, preferred)) {
        return PROTOCOL_ERR_PREFERRED_LEADER_NOT_AVAILABLE;
    }
    metadata_partition_change c;
    metadata_partition_change_init(&c);
    c.leader = preferred;
    metadata_batch_add_partition_change(bb, &t->id, p->id, &c);
    return PROTOCOL_ERR_NONE;
}

int16_t controller_partition_elect_unclean(const metadata_image *img, const metadata_topic *t,
                                           const metadata_partition *p,
                                           metadata_batch_builder *bb) {
    if (p->leader >= 0) return PROTOCOL_ERR_ELECTION_NOT_NEEDED;
    bool unclean = false;
    int32_t leader = controller_choose_leader(img, p, true, &unclean);
    if (leader < 0) return PROTOCOL_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE;
    metadata_partition_change c;
    metadata_partition_change_init(&c);
    c.leader = leader;
    int32_t isr[1] = { leader }, elr[IDS_MAX];
    metadata_ids new_isr = { isr, 1 }, new_elr = { elr, 0 };
    if (!metadata_ids_contains(&p->isr, leader)) {
        c.isr = &new_isr;
        new_elr.count = ids_without(&p->elr, leader, elr);
        c.elr = &new_elr;
        c.unclean = unclean;
        if (unclean) c.leader_recovering = 1;
    }
    metadata_batch_add_partition_change(bb, &t->id, p->id, &c);
    return PROTOCOL_ERR_NONE;
}

static bool reassignment_complete(const metadata_partition *p, const metadata_ids *isr) {
    if (p->adding.count == 0 && p->removing.count == 0) return false;
    for (int32_t i = 0; i < p->adding.count; i++) {
        if (!metadata_ids_contains(isr, p->adding.ids[i])) return false;
    }
    return true;
}

/* Finish a reassignment whose targets are all in sync: replicas = targets, ISR and ELR cut
 * to them, leader moved if it is being removed. */
static void reassignment_finish(const metadata_image *img, const metadata_partition *p,
                                const metadata_ids *isr, metadata_partition_change *c,
                                int32_t *rep, int32_t *nisr, metadata_ids *new_rep,
                                metadata_ids *new_isr, metadata_ids *empty) {
    new_rep->ids = rep;
    new_rep->count = 0;
    for (int32_t i = 0; i < p->replicas.count; i++) {
        if (!metadata_ids_contains(&p->removing, p->replicas.ids[i])) {
            rep[new_rep->count++] = p->replicas.ids[i];
        }
    }
    new_isr->ids = nisr;
    new_isr->count = 0;
    for (int32_t i = 0; i < isr->count; i++) {
        if (metadata_ids_contains(new_rep, isr->ids[i])) nisr[new_isr->count++] = isr->ids[i];
    }
    c->replicas = new_rep;
    c->isr = new_isr;
    c->adding = empty;
    c->removing = empty;
    c->elr = empty;
    if (!metadata_ids_contains(new_rep, p->leader)) {
        metadata_partition view = *p;
        view.replicas = *new_rep;
        view.isr = *new_isr;
        view.elr = *empty;
        bool unclean;
        c->leader = controller_choose_leader(img, &view, false, &unclean);
    } else {
        c->leader = p->leader; /* removing replicas starts a new leader epoch */
    }
}

int16_t controller_partition_alter_isr(const metadata_image *img, const metadata_topic *t,
                                       const metadata_partition *p, int32_t broker_id,
                                       int32_t leader_epoch, int32_t partition_epoch,
                                       const int32_t *new_isr, int32_t new_isr_count,
                                       const controller_defaults *d, metadata_batch_builder *bb) {
    if (p->leader != broker_id) return PROTOCOL_ERR_NOT_LEADER_OR_FOLLOWER;
    if (leader_epoch != p->leader_epoch) return PROTOCOL_ERR_FENCED_LEADER_EPOCH;
    if (partition_epoch != p->partition_epoch) return PROTOCOL_ERR_INVALID_UPDATE_VERSION;
    if (new_isr_count < 1 || new_isr_count > IDS_MAX) return PROTOCOL_ERR_INVALID_REQUEST;
    metadata_ids req = { (int32_t *)new_isr, new_isr_count };
    if (!metadata_ids_contains(&req, broker_id)) return PROTOCOL_ERR_INVALID_REQUEST;
    for (int32_t i = 0; i < new_isr_count; i++) {
        if (!metadata_ids_contains(&p->replicas, new_isr[i])) return PROTOCOL_ERR_INVALID_REQUEST;
        for (int32_t j = 0; j < i; j++) {
            if (new_isr[j] == new_isr[i]) return PROTOCOL_ERR_INVALID_REQUEST;
        }
        /* a fenced or shutting-down broker may not join (KIP-841) */
        if (!metadata_ids_contains(&p->isr, new_isr[i]) && !broker_live(img, new_isr[i])) {
            return PROTOCOL_ERR_INELIGIBLE_REPLICA;
        }
    }
    metadata_partition_change c;
    metadata_partition_change_init(&c);
    c.isr = &req;
    /* ELR: joiners leave it; leavers enter it while the ISR is below min ISR */
    int32_t elr[IDS_MAX];
    metadata_ids new_elr = { elr, 0 };
    int32_t min_isr = controller_topic_min_isr(img, t, d);
    if (new_isr_count < min_isr) {
        for (int32_t i = 0; i < p->elr.count; i++) {
            if (!metadata_ids_contains(&req, p->elr.ids[i])) elr[new_elr.count++] = p->elr.ids[i];
        }
        for (int32_t i = 0; i < p->isr.count; i++) {
            int32_t id = p->isr.ids[i];
            if (!metadata_ids_contains(&req, id) && !metadata_ids_contains(&new_elr, id)) {
                elr[new_elr.count++] = id;
            }
        }
    }
    if (new_elr.count != p->elr.count ||
        (new_elr.count > 0 && memcmp(elr, p->elr.ids, (size_t)new_elr.count * sizeof(int32_t)))) {
        c.elr = &new_elr;
    }
    int32_t rep[IDS_MAX], fisr[IDS_MAX];
    metadata_ids f_rep, f_isr, empty = { NULL, 0 };
    if (reassignment_complete(p, &req)) {
        reassignment_finish(img, p, &req, &c, rep, fisr, &f_rep, &f_isr, &empty);
    }
    metadata_batch_add_partition_change(bb, &t->id, p->id, &c);
    return PROTOCOL_ERR_NONE;
}

int16_t controller_partition_reassign(const metadata_image *img, const metadata_topic *t,
                                      const metadata_partition *p, const int32_t *target,
                                      int32_t target_count, metadata_batch_builder *bb) {
    metadata_partition_change c;
    metadata_partition_change_init(&c);
    int32_t rep[IDS_MAX], add[IDS_MAX], rem[IDS_MAX], isr[IDS_MAX];
    metadata_ids new_rep = { rep, 0 }, new_add = { add, 0 }, new_rem = { rem, 0 };
    metadata_ids new_isr = { isr, 0 };
    if (!target) { /* cancel: back to the original replicas (current minus adding) */
        if (p->adding.count == 0 && p->removing.count == 0) {
            return PROTOCOL_ERR_NO_REASSIGNMENT_IN_PROGRESS;
        }
        for (int32_t i = 0; i < p->replicas.count; i++) {
            if (!metadata_ids_contains(&p->adding, p->replicas.ids[i])) {
                rep[new_rep.count++] = p->replicas.ids[i];
            }
        }
        for (int32_t i = 0; i < p->isr.count; i++) {
            if (metadata_ids_contains(&new_rep, p->isr.ids[i])) isr[new_isr.count++] = p->isr.ids[i];
        }
        if (new_isr.count == 0) return PROTOCOL_ERR_INVALID_REPLICA_ASSIGNMENT;
        c.replicas = &new_rep;
        c.isr = &new_isr;
        c.adding = &new_add;
        c.removing = &new_rem;
        if (!metadata_ids_contains(&new_rep, p->leader)) {
            metadata_partition view = *p;
            view.replicas = new_rep;
            view.isr = new_isr;
            bool unclean;
            c.leader = controller_choose_leader(img, &view, false, &unclean);
        }
        metadata_batch_add_partition_change(bb, &t->id, p->id, &c);
        return PROTOCOL_ERR_NONE;
    }
    if (target_count < 1 || target_count > IDS_MAX / 2) return PROTOCOL_ERR_INVALID_REPLICA_ASSIGNMENT;
    metadata_ids tgt = { (int32_t *)target, target_count };
    for (int32_t i = 0; i < target_count; i++) {
        if (!metadata_image_broker(img, target[i])) return PROTOCOL_ERR_INVALID_REPLICA_ASSIGNMENT;
        for (int32_t j = 0; j < i; j++) {
            if (target[j] == target[i]) return PROTOCOL_ERR_INVALID_REPLICA_ASSIGNMENT;
        }
    }
    /* replicas = target followed by the current replicas leaving (Kafka's order) */
    for (int32_t i = 0; i < target_count; i++) rep[new_rep.count++] = target[i];
    for (int32_t i = 0; i < p->replicas.count; i++) {
        int32_t id = p->replicas.ids[i];
        if (!metadata_ids_contains(&tgt, id)) {
            rep[new_rep.count++] = id;
            rem[new_rem.count++] = id;
        }
    }
    for (int32_t i = 0; i < target_count; i++) {
        if (!metadata_ids_contains(&p->replicas, target[i])) add[new_add.count++] = target[i];
    }
    c.replicas = &new_rep;
    c.adding = &new_add;
    c.removing = &new_rem;
    if (new_add.count == 0 && new_rem.count > 0) {
        /* pure shrink: every target is already a replica — finish in one step */
        metadata_partition view = *p;
        view.replicas = new_rep;
        view.adding = new_add;
        view.removing = new_rem;
        int32_t frep[IDS_MAX], fisr[IDS_MAX];
        metadata_ids f_rep, f_isr, empty = { NULL, 0 };
        reassignment_finish(img, &view, &p->isr, &c, frep, fisr, &f_rep, &f_isr, &empty);
        if (f_isr.count == 0) return PROTOCOL_ERR_INVALID_REPLICA_ASSIGNMENT;
        metadata_batch_add_partition_change(bb, &t->id, p->id, &c);
        return PROTOCOL_ERR_NONE;
    }
    if (new_add.count == 0 && new_rem.count == 0) {
        if (memcmp(target, p->replicas.ids, (size_t)target_count * sizeof(int32_t)) == 0) {
            return PROTOCOL_ERR_NONE; /* already there */
        }
        c.adding = NULL; /* a reorder: only the preferred leader changes */
        c.removing = NULL;
    }
    metadata_batch_add_partition_change(bb, &t->id, p->id, &c);
    return PROTOCOL_ERR_NONE;
}
