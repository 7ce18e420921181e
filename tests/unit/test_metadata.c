/* Unit tests for metadata/: record replay, invariants, deltas, snapshots, topic names,
 * config resolution, uuids. */
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "metadata/metadata.h"

#include <check.h>
#include <string.h>

Suite *metadata_suite(void);

static metadata_image img;
static metadata_batch_builder bb;

static void setup(void) {
    metadata_image_init(&img);
    metadata_batch_builder_init(&bb);
}

static void teardown(void) {
    metadata_batch_builder_deinit(&bb);
    metadata_image_deinit(&img);
}

/* Apply what the builder holds as one entry at offset, then reset the builder. */
static int commit(int64_t offset, metadata_delta *delta) {
    int rc = metadata_image_apply_batch(&img, bb.buf.data, bb.buf.len, offset, 1, delta);
    metadata_batch_builder_deinit(&bb);
    metadata_batch_builder_init(&bb);
    return rc;
}

static void register_broker(int32_t id, int64_t offset) {
    metadata_endpoint ep = { "PLAINTEXT", "127.0.0.1", 9092 + id, "PLAINTEXT" };
    metadata_broker b = { .id = id, .epoch = -1, .endpoints = &ep, .endpoint_count = 1,
                          .fenced = true };
    memset(b.incarnation.b, id + 1, 16);
    metadata_batch_add_register_broker(&bb, &b);
    ck_assert_int_eq(commit(offset, NULL), SL_OK);
}

static void set_ids(metadata_ids *ids, int32_t *storage, int n, ...) {
    __builtin_va_list ap;
    __builtin_va_start(ap, n);
    for (int i = 0; i < n; i++) storage[i] = __builtin_va_arg(ap, int32_t);
    __builtin_va_end(ap);
    ids->ids = storage;
    ids->count = n;
}

static metadata_uuid create_topic(const char *name, int partitions, int64_t offset) {
    metadata_uuid id;
    metadata_uuid_random(&id);
    metadata_batch_add_topic(&bb, name, &id);
    for (int p = 0; p < partitions; p++) {
        int32_t r[3], i[3];
        metadata_partition part = { .id = p, .leader = (p % 3) + 1 };
        set_ids(&part.replicas, r, 3, (p % 3) + 1, ((p + 1) % 3) + 1, ((p + 2) % 3) + 1);
        set_ids(&part.isr, i, 3, (p % 3) + 1, ((p + 1) % 3) + 1, ((p + 2) % 3) + 1);
        metadata_batch_add_partition(&bb, &id, &part);
    }
    ck_assert_int_eq(commit(offset, NULL), SL_OK);
    return id;
}

START_TEST(test_register_fence_unfence_broker) {
    register_broker(1, 10);
    metadata_broker *b = metadata_image_broker(&img, 1);
    ck_assert_ptr_nonnull(b);
    ck_assert(b->epoch == 10); /* epoch = offset of the registration entry */
    ck_assert(b->fenced);
    ck_assert_str_eq(metadata_broker_endpoint(b, "PLAINTEXT")->host, "127.0.0.1");
    int32_t ids[4];
    ck_assert_int_eq(metadata_image_live_brokers(&img, ids, 4), 0);
    metadata_batch_add_fence(&bb, 1, 10, false);
    ck_assert_int_eq(commit(11, NULL), SL_OK);
    ck_assert_int_eq(metadata_image_live_brokers(&img, ids, 4), 1);
    /* a stale epoch is refused and changes nothing */
    metadata_batch_add_fence(&bb, 1, 9, true);
    ck_assert_int_eq(commit(12, NULL), SL_E_CORRUPT);
    ck_assert(!metadata_image_broker(&img, 1)->fenced);
    ck_assert(img.offset == 12);
    /* re-registration gets a new, larger epoch */
    register_broker(1, 20);
    ck_assert(metadata_image_broker(&img, 1)->epoch == 20);
}
END_TEST

START_TEST(test_topic_partitions_and_delta) {
    for (int i = 1; i <= 3; i++) register_broker(i, i);
    metadata_uuid id;
    metadata_uuid_random(&id);
    metadata_batch_add_topic(&bb, "orders", &id);
    int32_t r[3], s[3];
    metadata_partition p0 = { .id = 0, .leader = 2 };
    set_ids(&p0.replicas, r, 3, 2, 3, 1);
    set_ids(&p0.isr, s, 3, 2, 3, 1);
    metadata_batch_add_partition(&bb, &id, &p0);
    metadata_delta delta;
    metadata_delta_init(&delta);
    ck_assert_int_eq(commit(5, &delta), SL_OK);
    ck_assert_int_eq(delta.partition_count, 1);
    ck_assert_str_eq(delta.partitions[0].topic, "orders");
    metadata_delta_deinit(&delta);
    metadata_topic *t = metadata_image_topic(&img, "orders", 6);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_eq(metadata_image_topic_by_id(&img, &id), t);
    ck_assert_int_eq(t->partition_count, 1);
    ck_assert_int_eq(t->partitions[0].leader, 2);
    /* duplicate name refused */
    metadata_uuid other;
    metadata_uuid_random(&other);
    metadata_batch_add_topic(&bb, "orders", &other);
    ck_assert_int_eq(commit(6, NULL), SL_E_CORRUPT);
    /* partition ids must be contiguous */
    metadata_partition p5 = p0;
    p5.id = 5;
    metadata_batch_add_partition(&bb, &id, &p5);
    ck_assert_int_eq(commit(7, NULL), SL_E_CORRUPT);
    ck_assert_int_eq(metadata_image_topic(&img, "orders", 6)->partition_count, 1);
}
END_TEST

START_TEST(test_partition_change_epochs_and_validation) {
    for (int i = 1; i <= 3; i++) register_broker(i, i);
    metadata_uuid id = create_topic("t", 1, 4);
    metadata_partition *p = &metadata_image_topic(&img, "t", 1)->partitions[0];
    ck_assert_int_eq(p->leader_epoch, 0);
    /* ISR shrink without a leader field: partition epoch moves, leader epoch does not */
    int32_t isr2[2];
    metadata_ids isr;
    set_ids(&isr, isr2, 2, 1, 2);
    metadata_partition_change c;
    metadata_partition_change_init(&c);
    c.isr = &isr;
    metadata_batch_add_partition_change(&bb, &id, 0, &c);
    ck_assert_int_eq(commit(5, NULL), SL_OK);
    p = &metadata_image_topic(&img, "t", 1)->partitions[0];
    ck_assert_int_eq(p->isr.count, 2);
    ck_assert_int_eq(p->leader_epoch, 0);
    ck_assert_int_eq(p->partition_epoch, 1);
    /* leader change bumps the leader epoch */
    metadata_partition_change_init(&c);
    c.leader = 2;
    metadata_batch_add_partition_change(&bb, &id, 0, &c);
    ck_assert_int_eq(commit(6, NULL), SL_OK);
    p = &metadata_image_topic(&img, "t", 1)->partitions[0];
    ck_assert_int_eq(p->leader, 2);
    ck_assert_int_eq(p->leader_epoch, 1);
    ck_assert_int_eq(p->partition_epoch, 2);
    /* an ISR member outside the replicas is refused */
    int32_t bad[2];
    set_ids(&isr, bad, 2, 1, 9);
    metadata_partition_change_init(&c);
    c.isr = &isr;
    metadata_batch_add_partition_change(&bb, &id, 0, &c);
    ck_assert_int_eq(commit(7, NULL), SL_E_CORRUPT);
    ck_assert_int_eq(metadata_image_topic(&img, "t", 1)->partitions[0].partition_epoch, 2);
    /* offline: leader -1 is allowed */
    metadata_partition_change_init(&c);
    c.leader = -1;
    metadata_batch_add_partition_change(&bb, &id, 0, &c);
    ck_assert_int_eq(commit(8, NULL), SL_OK);
    ck_assert_int_eq(metadata_image_topic(&img, "t", 1)->partitions[0].leader, -1);
}
END_TEST

START_TEST(test_remove_topic_and_configs) {
    metadata_uuid id = create_topic("logs", 2, 1);
    metadata_batch_add_config(&bb, METADATA_RESOURCE_TOPIC, "logs", "retention.ms", "1000");
    metadata_batch_add_config(&bb, METADATA_RESOURCE_BROKER, "", "log.retention.ms", "2000");
    ck_assert_int_eq(commit(2, NULL), SL_OK);
    ck_assert_str_eq(metadata_image_config(&img, METADATA_RESOURCE_TOPIC, "logs", "retention.ms"),
                     "1000");
    metadata_batch_add_config(&bb, METADATA_RESOURCE_TOPIC, "logs", "retention.ms", NULL);
    ck_assert_int_eq(commit(3, NULL), SL_OK);
    ck_assert_ptr_null(
        metadata_image_config(&img, METADATA_RESOURCE_TOPIC, "logs", "retention.ms"));
    metadata_delta delta;
    metadata_delta_init(&delta);
    metadata_batch_add_remove_topic(&bb, &id);
    ck_assert_int_eq(commit(4, &delta), SL_OK);
    ck_assert_int_eq(delta.deleted_count, 1);
    ck_assert_str_eq(delta.deleted_topics[0].name, "logs");
    ck_assert_int_eq(delta.deleted_topics[0].partition_count, 2);
    metadata_delta_deinit(&delta);
    ck_assert_ptr_null(metadata_image_topic(&img, "logs", 4));
    ck_assert_ptr_null(metadata_image_topic_by_id(&img, &id));
}
END_TEST

START_TEST(test_garbage_payload_is_refused) {
    const uint8_t junk[] = { 0x0a, 0x7f, 0x01 };
    ck_assert_int_eq(metadata_image_apply_batch(&img, junk, sizeof(junk), 3, 1, NULL),
                     SL_E_CORRUPT);
    ck_assert(img.offset == 3);
    ck_assert_uint_eq(img.topics.count, 0);
}
END_TEST

START_TEST(test_snapshot_round_trip_is_identical) {
    metadata_batch_add_cluster_id(&bb, "abc");
    metadata_batch_add_feature(&bb, "metadata.version", 21);
    ck_assert_int_eq(commit(0, NULL), SL_OK);
    for (int i = 1; i <= 3; i++) register_broker(i, i);
    metadata_batch_add_fence(&bb, 2, 2, false);
    metadata_batch_add_controlled_shutdown(&bb, 2, 2);
    ck_assert_int_eq(commit(4, NULL), SL_OK);
    create_topic("b-topic", 3, 5);
    create_topic("a-topic", 2, 6);
    metadata_batch_add_config(&bb, METADATA_RESOURCE_TOPIC, "a-topic", "cleanup.policy",
                              "compact");
    metadata_batch_add_config(&bb, METADATA_RESOURCE_BROKER, "2", "log.retention.ms", "5");
    metadata_batch_add_producer_ids(&bb, 1, 1, 3000);
    ck_assert_int_eq(commit(7, NULL), SL_OK);

    sl_buf snap;
    sl_buf_init(&snap);
    metadata_image_snapshot(&img, &snap);
    metadata_image loaded;
    metadata_image_init(&loaded);
    ck_assert_int_eq(metadata_image_load_snapshot(&loaded, snap.data, snap.len, 7, 1), SL_OK);
    sl_buf again;
    sl_buf_init(&again);
    metadata_image_snapshot(&loaded, &again);
    ck_assert_uint_eq(snap.len, again.len);
    ck_assert_mem_eq(snap.data, again.data, snap.len);
    ck_assert_str_eq(loaded.cluster_id, "abc");
    ck_assert(loaded.next_producer_id == 3000);
    ck_assert(metadata_image_broker(&loaded, 2)->controlled_shutdown);
    ck_assert(metadata_image_broker(&loaded, 2)->epoch == 2);
    ck_assert_int_eq(metadata_image_topic(&loaded, "b-topic", 7)->partition_count, 3);
    /* copies are deep and equal too */
    metadata_image copy;
    metadata_image_init(&copy);
    metadata_image_copy(&copy, &loaded);
    sl_buf_reset(&again);
    metadata_image_snapshot(&copy, &again);
    ck_assert_mem_eq(snap.data, again.data, snap.len);
    metadata_image_deinit(&copy);
    metadata_image_deinit(&loaded);
    sl_buf_deinit(&again);
    sl_buf_deinit(&snap);
}
END_TEST

static const struct {
    const char *name;
    bool ok;
    const char *msg;
} names[] = {
    { "hello.kafka", true, NULL },
    { "a-b_c.D9", true, NULL },
    { "", false, "empty" },
    { ".", false, "\".\" or \"..\"" },
    { "..", false, "\".\" or \"..\"" },
    { "bad name", false, "ASCII alphanumerics" },
    { "slash/no", false, "ASCII alphanumerics" },
};

START_TEST(test_topic_name_rules) {
    char err[512] = "";
    int rc = metadata_topic_name_check(names[_i].name, strlen(names[_i].name), err, sizeof(err));
    ck_assert_int_eq(rc == SL_OK, names[_i].ok);
    if (!names[_i].ok) ck_assert_ptr_nonnull(strstr(err, names[_i].msg));
}
END_TEST

START_TEST(test_topic_name_length_and_collisions) {
    char name[251];
    memset(name, 'x', sizeof(name));
    char err[512];
    ck_assert_int_eq(metadata_topic_name_check(name, 249, err, sizeof(err)), SL_OK);
    ck_assert_int_eq(metadata_topic_name_check(name, 250, err, sizeof(err)), SL_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "249"));
    ck_assert(metadata_topic_names_collide("a.b", "a_b"));
    ck_assert(!metadata_topic_names_collide("a.b", "a.b"));
    ck_assert(!metadata_topic_names_collide("a.b", "a_c"));
    ck_assert(metadata_topic_is_internal("__consumer_offsets", 18));
    ck_assert(!metadata_topic_is_internal("__consumer_offset", 17));
}
END_TEST

START_TEST(test_config_resolution_layers) {
    create_topic("t", 1, 1);
    sl_props stat;
    sl_props_init(&stat);
    sl_props_set(&stat, "log.retention.hours", "1");
    int source = 0;
    metadata_topic *t = metadata_image_topic(&img, "t", 1);
    ck_assert_str_eq(metadata_topic_config_value(&img, t, "retention.ms", 1, &stat, &source),
                     "3600000");
    ck_assert_int_eq(source, METADATA_CONFIG_SOURCE_STATIC_BROKER);
    ck_assert_str_eq(metadata_topic_config_value(&img, t, "segment.bytes", 1, &stat, &source),
                     "1073741824");
    ck_assert_int_eq(source, METADATA_CONFIG_SOURCE_DEFAULT);
    metadata_batch_add_config(&bb, METADATA_RESOURCE_BROKER, "", "log.retention.ms", "7");
    metadata_batch_add_config(&bb, METADATA_RESOURCE_BROKER, "1", "log.retention.ms", "8");
    ck_assert_int_eq(commit(2, NULL), SL_OK);
    t = metadata_image_topic(&img, "t", 1);
    ck_assert_str_eq(metadata_topic_config_value(&img, t, "retention.ms", 1, &stat, &source), "8");
    ck_assert_int_eq(source, METADATA_CONFIG_SOURCE_DYNAMIC_BROKER);
    ck_assert_str_eq(metadata_topic_config_value(&img, t, "retention.ms", 2, &stat, &source), "7");
    ck_assert_int_eq(source, METADATA_CONFIG_SOURCE_DYNAMIC_DEFAULT);
    metadata_batch_add_config(&bb, METADATA_RESOURCE_TOPIC, "t", "retention.ms", "9");
    metadata_batch_add_config(&bb, METADATA_RESOURCE_TOPIC, "t", "cleanup.policy",
                              "compact,delete");
    metadata_batch_add_config(&bb, METADATA_RESOURCE_TOPIC, "t", "message.timestamp.type",
                              "LogAppendTime");
    ck_assert_int_eq(commit(3, NULL), SL_OK);
    t = metadata_image_topic(&img, "t", 1);
    metadata_log_config lc;
    metadata_log_config_resolve(&img, t, 1, &stat, &lc);
    ck_assert(lc.retention_ms == 9);
    ck_assert(lc.compact && lc.delete_);
    ck_assert(lc.log_append_time);
    ck_assert_int_eq(lc.min_insync_replicas, 1);
    ck_assert_int_eq(lc.compression_type, -1);
    sl_props_deinit(&stat);
    /* the topic table validates like Kafka */
    const sl_cfg_def *def = sl_config_find(&metadata_topic_config_table, "cleanup.policy");
    char err[256];
    ck_assert_int_eq(sl_config_check(def, "compact,delete", err, sizeof(err)), SL_OK);
    ck_assert_int_eq(sl_config_check(def, "forever", err, sizeof(err)), SL_E_CONFIG);
    ck_assert_str_eq(metadata_topic_config_synonym("segment.ms"), "log.roll.ms");
    const sl_cfg_table *dyn = metadata_dynamic_broker_configs();
    ck_assert_ptr_nonnull(sl_config_find(dyn, "log.retention.ms"));
    ck_assert_ptr_null(sl_config_find(dyn, "retention.ms"));
}
END_TEST

START_TEST(test_uuid_text_round_trip) {
    for (int i = 0; i < 100; i++) {
        metadata_uuid a, b;
        metadata_uuid_random(&a);
        ck_assert(!metadata_uuid_is_zero(&a));
        char text[23];
        metadata_uuid_format(&a, text);
        ck_assert_uint_eq(strlen(text), 22);
        ck_assert_int_eq(metadata_uuid_parse(text, &b), SL_OK);
        ck_assert_mem_eq(a.b, b.b, 16);
    }
    metadata_uuid zero = { { 0 } }, out;
    char text[23];
    metadata_uuid_format(&zero, text);
    ck_assert_str_eq(text, "AAAAAAAAAAAAAAAAAAAAAA");
    ck_assert_int_eq(metadata_uuid_parse("short", &out), SL_E_INVALID);
    ck_assert_int_eq(metadata_uuid_parse("AAAAAAAAAAAAAAAAAAAA!A", &out), SL_E_INVALID);
}
END_TEST

Suite *metadata_suite(void) {
    Suite *s = suite_create("metadata");
    TCase *tc = tcase_create("replay");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_register_fence_unfence_broker);
    tcase_add_test(tc, test_topic_partitions_and_delta);
    tcase_add_test(tc, test_partition_change_epochs_and_validation);
    tcase_add_test(tc, test_remove_topic_and_configs);
    tcase_add_test(tc, test_garbage_payload_is_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("snapshot");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_snapshot_round_trip_is_identical);
    suite_add_tcase(s, tc);
    tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_topic_name_rules, 0, sizeof(names) / sizeof(names[0]));
    tcase_add_test(tc, test_topic_name_length_and_collisions);
    tcase_add_test(tc, test_config_resolution_layers);
    tcase_add_test(tc, test_uuid_text_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
