/* Unit tests for the controller's pure decisions: placement, leader election, ISR and
 * ELR changes (KIP-966), reassignment steps. Each decision's records are applied to an
 * image and the result checked. */
#include "common/sl_err.h"
#include "controller/controller_int.h"

#include <check.h>
#include <stdarg.h>
#include <string.h>

Suite *controller_suite(void);

static metadata_image img;
static metadata_batch_builder bb;
static metadata_uuid topic_id;
static sl_props defaults_props;
static controller_defaults defaults;
static int64_t next_offset;

static void apply(void) {
    ck_assert_int_eq(metadata_image_apply_batch(&img, bb.buf.data, bb.buf.len, next_offset++, 1,
                                                NULL),
                     SL_OK);
    metadata_batch_builder_deinit(&bb);
    metadata_batch_builder_init(&bb);
}

static void broker_add(int32_t id, bool live) {
    metadata_endpoint ep = { "PLAINTEXT", "127.0.0.1", 9000 + id, "PLAINTEXT" };
    metadata_broker b = { .id = id, .epoch = -1, .endpoints = &ep, .endpoint_count = 1,
                          .fenced = true };
    memset(b.incarnation.b, id, 16);
    metadata_batch_add_register_broker(&bb, &b);
    apply();
    if (live) {
        metadata_batch_add_fence(&bb, id, metadata_image_broker(&img, id)->epoch, false);
        apply();
    }
}

static void broker_fence(int32_t id) {
    metadata_batch_add_fence(&bb, id, metadata_image_broker(&img, id)->epoch, true);
    apply();
}

static void broker_unfence(int32_t id) {
    metadata_batch_add_fence(&bb, id, metadata_image_broker(&img, id)->epoch, false);
    apply();
}

/* One topic "t", one partition with these replicas (all in the ISR), leader the first. */
static void topic_add(int n, ...) {
    int32_t r[8];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) r[i] = va_arg(ap, int32_t);
    va_end(ap);
    metadata_uuid_random(&topic_id);
    metadata_batch_add_topic(&bb, "t", &topic_id);
    metadata_partition p = { .id = 0, .leader = r[0] };
    p.replicas = (metadata_ids){ r, n };
    p.isr = (metadata_ids){ r, n };
    metadata_batch_add_partition(&bb, &topic_id, &p);
    apply();
}

static metadata_topic *t(void) {
    return metadata_image_topic(&img, "t", 1);
}

static metadata_partition *p0(void) {
    return &t()->partitions[0];
}

static void min_isr(const char *v) {
    metadata_batch_add_config(&bb, METADATA_RESOURCE_TOPIC, "t", "min.insync.replicas", v);
    apply();
}

static void set_unclean(void) {
    metadata_batch_add_config(&bb, METADATA_RESOURCE_TOPIC, "t",
                              "unclean.leader.election.enable", "true");
    apply();
}

static bool ids_eq(const metadata_ids *ids, int n, ...) {
    if (ids->count != n) return false;
    va_list ap;
    va_start(ap, n);
    bool ok = true;
    for (int i = 0; i < n; i++) ok &= ids->ids[i] == va_arg(ap, int32_t);
    va_end(ap);
    return ok;
}

static void setup(void) {
    metadata_image_init(&img);
    metadata_batch_builder_init(&bb);
    sl_props_init(&defaults_props);
    defaults.props = &defaults_props;
    next_offset = 1;
}

static void teardown(void) {
    sl_props_deinit(&defaults_props);
    metadata_batch_builder_deinit(&bb);
    metadata_image_deinit(&img);
}

START_TEST(test_place_round_robin_distinct_replicas) {
    int32_t live[] = { 1, 2, 3 };
    int32_t out[6 * 3];
    ck_assert_int_eq(controller_place(live, 3, 0, 0, 6, 3, out), PROTOCOL_ERR_NONE);
    for (int p = 0; p < 6; p++) {
        ck_assert_int_eq(out[p * 3], live[p % 3]); /* leaders rotate from the first broker */
        ck_assert_int_ne(out[p * 3], out[p * 3 + 1]);
        ck_assert_int_ne(out[p * 3 + 1], out[p * 3 + 2]);
        ck_assert_int_ne(out[p * 3], out[p * 3 + 2]);
    }
    ck_assert_int_eq(controller_place(live, 3, 0, 0, 1, 4, out),
                     PROTOCOL_ERR_INVALID_REPLICATION_FACTOR);
    ck_assert_int_eq(controller_place(live, 3, 1, 0, 1, 1, out), PROTOCOL_ERR_NONE);
    ck_assert_int_eq(out[0], 2); /* start moves the rotation */
}
END_TEST

START_TEST(test_fencing_leader_elects_next_isr_member) {
    for (int i = 1; i <= 3; i++) broker_add(i, true);
    topic_add(3, 1, 2, 3);
    broker_fence(1);
    ck_assert(controller_partition_remove_broker(&img, t(), p0(), 1, &defaults, &bb));
    apply();
    ck_assert_int_eq(p0()->leader, 2);
    ck_assert(ids_eq(&p0()->isr, 2, 2, 3));
    ck_assert_int_eq(p0()->leader_epoch, 1);
    ck_assert_int_eq(p0()->elr.count, 0); /* min ISR 1: no ELR */
}
END_TEST

START_TEST(test_isr_shrink_below_min_isr_keeps_members_eligible) {
    for (int i = 1; i <= 3; i++) broker_add(i, true);
    topic_add(3, 1, 2, 3);
    min_isr("2");
    broker_fence(3);
    controller_partition_remove_broker(&img, t(), p0(), 3, &defaults, &bb);
    apply();
    ck_assert(ids_eq(&p0()->isr, 2, 1, 2));
    ck_assert_int_eq(p0()->elr.count, 0);
    broker_fence(2);
    controller_partition_remove_broker(&img, t(), p0(), 2, &defaults, &bb);
    apply();
    ck_assert(ids_eq(&p0()->isr, 1, 1));
    ck_assert(ids_eq(&p0()->elr, 1, 2)); /* left below min ISR: still eligible */
    /* the leader dies, 2 returns: 2 is elected cleanly from the ELR */
    broker_fence(1);
    controller_partition_remove_broker(&img, t(), p0(), 1, &defaults, &bb);
    apply();
    ck_assert_int_eq(p0()->leader, -1);
    ck_assert(ids_eq(&p0()->isr, 1, 1)); /* the ISR is never empty */
    broker_unfence(2);
    ck_assert(controller_partition_try_elect(&img, t(), p0(), &defaults, &bb));
    apply();
    ck_assert_int_eq(p0()->leader, 2);
    ck_assert(ids_eq(&p0()->isr, 1, 2));
    ck_assert_int_eq(p0()->elr.count, 0);
}
END_TEST

START_TEST(test_unclean_election_only_when_enabled) {
    for (int i = 1; i <= 2; i++) broker_add(i, true);
    topic_add(2, 1, 2);
    broker_fence(2);
    controller_partition_remove_broker(&img, t(), p0(), 2, &defaults, &bb);
    apply();
    ck_assert(ids_eq(&p0()->isr, 1, 1));
    broker_fence(1);
    controller_partition_remove_broker(&img, t(), p0(), 1, &defaults, &bb);
    apply();
    ck_assert_int_eq(p0()->leader, -1);
    broker_unfence(2);
    ck_assert(!controller_partition_try_elect(&img, t(), p0(), &defaults, &bb));
    ck_assert_int_eq(bb.count, 0);
    set_unclean();
    ck_assert(controller_partition_try_elect(&img, t(), p0(), &defaults, &bb));
    apply();
    ck_assert_int_eq(p0()->leader, 2);
    ck_assert(ids_eq(&p0()->isr, 1, 2));
    ck_assert(p0()->leader_recovering);
}
END_TEST

START_TEST(test_alter_isr_checks_epochs_and_members) {
    for (int i = 1; i <= 3; i++) broker_add(i, true);
    topic_add(3, 1, 2, 3);
    int32_t shrink[] = { 1, 2 };
    ck_assert_int_eq(controller_partition_alter_isr(&img, t(), p0(), 2, 0, 0, shrink, 2, &defaults, &bb),
                     PROTOCOL_ERR_NOT_LEADER_OR_FOLLOWER);
    ck_assert_int_eq(controller_partition_alter_isr(&img, t(), p0(), 1, 5, 0, shrink, 2, &defaults, &bb),
                     PROTOCOL_ERR_FENCED_LEADER_EPOCH);
    ck_assert_int_eq(controller_partition_alter_isr(&img, t(), p0(), 1, 0, 9, shrink, 2, &defaults, &bb),
                     PROTOCOL_ERR_INVALID_UPDATE_VERSION);
    int32_t without_leader[] = { 2, 3 };
    ck_assert_int_eq(controller_partition_alter_isr(&img, t(), p0(), 1, 0, 0, without_leader, 2,
                                                    &defaults, &bb),
                     PROTOCOL_ERR_INVALID_REQUEST);
    ck_assert_int_eq(bb.count, 0);
    ck_assert_int_eq(controller_partition_alter_isr(&img, t(), p0(), 1, 0, 0, shrink, 2, &defaults, &bb),
                     PROTOCOL_ERR_NONE);
    apply();
    ck_assert(ids_eq(&p0()->isr, 2, 1, 2));
    ck_assert_int_eq(p0()->partition_epoch, 1);
    /* a fenced broker cannot rejoin */
    broker_fence(3);
    int32_t expand[] = { 1, 2, 3 };
    ck_assert_int_eq(controller_partition_alter_isr(&img, t(), p0(), 1, 0, 1, expand, 3, &defaults, &bb),
                     PROTOCOL_ERR_INELIGIBLE_REPLICA);
}
END_TEST

START_TEST(test_preferred_election) {
    for (int i = 1; i <= 3; i++) broker_add(i, true);
    topic_add(3, 1, 2, 3);
    ck_assert_int_eq(controller_partition_elect_preferred(&img, t(), p0(), &bb),
                     PROTOCOL_ERR_ELECTION_NOT_NEEDED);
    broker_fence(1);
    controller_partition_remove_broker(&img, t(), p0(), 1, &defaults, &bb);
    apply();
    ck_assert_int_eq(controller_partition_elect_preferred(&img, t(), p0(), &bb),
                     PROTOCOL_ERR_PREFERRED_LEADER_NOT_AVAILABLE);
    broker_unfence(1);
    int32_t back[] = { 2, 3, 1 };
    ck_assert_int_eq(controller_partition_alter_isr(&img, t(), p0(), 2, 1, 1, back, 3, &defaults, &bb),
                     PROTOCOL_ERR_NONE);
    apply();
    ck_assert_int_eq(controller_partition_elect_preferred(&img, t(), p0(), &bb), PROTOCOL_ERR_NONE);
    apply();
    ck_assert_int_eq(p0()->leader, 1);
}
END_TEST

START_TEST(test_reassignment_adds_then_completes_on_isr) {
    for (int i = 1; i <= 4; i++) broker_add(i, true);
    topic_add(3, 1, 2, 3);
    int32_t target[] = { 2, 3, 4 };
    ck_assert_int_eq(controller_partition_reassign(&img, t(), p0(), target, 3, &bb),
                     PROTOCOL_ERR_NONE);
    apply();
    ck_assert(ids_eq(&p0()->replicas, 4, 2, 3, 4, 1));
    ck_assert(ids_eq(&p0()->adding, 1, 4));
    ck_assert(ids_eq(&p0()->removing, 1, 1));
    /* the leader reports 4 in sync: the reassignment completes and 1 leaves */
    int32_t isr[] = { 1, 2, 3, 4 };
    ck_assert_int_eq(controller_partition_alter_isr(&img, t(), p0(), 1, 0, p0()->partition_epoch,
                                                    isr, 4, &defaults, &bb),
                     PROTOCOL_ERR_NONE);
    apply();
    ck_assert(ids_eq(&p0()->replicas, 3, 2, 3, 4));
    ck_assert(ids_eq(&p0()->isr, 3, 2, 3, 4));
    ck_assert_int_eq(p0()->adding.count, 0);
    ck_assert_int_eq(p0()->removing.count, 0);
    ck_assert_int_eq(p0()->leader, 2); /* 1 was removed: the leader moved */
    ck_assert_int_eq(controller_partition_reassign(&img, t(), p0(), NULL, 0, &bb),
                     PROTOCOL_ERR_NO_REASSIGNMENT_IN_PROGRESS);
}
END_TEST

Suite *controller_suite(void) {
    Suite *s = suite_create("controller");
    TCase *tc = tcase_create("placement");
    tcase_add_test(tc, test_place_round_robin_distinct_replicas);
    suite_add_tcase(s, tc);
    tc = tcase_create("partition");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_fencing_leader_elects_next_isr_member);
    tcase_add_test(tc, test_isr_shrink_below_min_isr_keeps_members_eligible);
    tcase_add_test(tc, test_unclean_election_only_when_enabled);
    tcase_add_test(tc, test_alter_isr_checks_epochs_and_members);
    tcase_add_test(tc, test_preferred_election);
    tcase_add_test(tc, test_reassignment_adds_then_completes_on_isr);
    suite_add_tcase(s, tc);
    return s;
}
