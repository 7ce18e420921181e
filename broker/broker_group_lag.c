/* broker_group_lag.c — consumer lag on /metrics, with kafka_exporter's series for the groups
 * this broker coordinates:
 *
 *   kafka_consumergroup_current_offset{consumergroup,topic,partition}   committed offset
 *   kafka_consumergroup_current_offset_sum{consumergroup,topic}
 *   kafka_consumergroup_lag{consumergroup,topic,partition}   log end offset - committed
 *   kafka_consumergroup_lag_sum{consumergroup,topic}
 *   kafka_consumergroup_members{consumergroup}
 *
 * "Log end offset" is what a consumer can reach: the high watermark (ListOffsets latest), as
 * kafka_exporter and kafka-consumer-groups.sh use. For partitions led here it is read
 * directly; for partitions led elsewhere a small ListOffsets client (one connection per
 * leader, built on broker_io like the follower fetchers) asks their leaders every
 * BROKER_GROUP_LAG_REFRESH_MS and caches the answers with their age. A cached offset older
 * than LAG_STALE_MS is not exported (no lag sample rather than a wrong one); lag is never
 * negative (a committed offset can briefly pass a follower's cached end). */
#include "broker/broker_int.h"
#include "broker/broker_group.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BROKER_GROUP_LAG_REFRESH_MS 2000
#define LAG_STALE_MS                30000  /* older cached end offsets are not exported */
#define LAG_FORGET_MS               300000 /* cache entries unused this long are dropped */
#define LAG_REQUEST_TIMEOUT_MS      10000
#define LAG_PARTITIONS_MAX          100000 /* per refresh: bounds one request's size */
#define LAG_RESPONSE_MAX            (64 << 20)
#define LIST_OFFSETS_KEY            2
#define LIST_OFFSETS_VERSION        2 /* IsolationLevel, non-flexible */
#define TS_LATEST                   (-1)

typedef struct lag_entry {
    uint8_t *key; /* topic bytes + big-endian partition */
    size_t key_len;
    int64_t end_offset; /* -1 unknown */
    int64_t fetched_ms; /* monotonic; 0 never */
    int64_t wanted_ms;  /* last refresh that needed it */
} lag_entry;

typedef struct lag_client {
    broker_group_lag *lag;
    int32_t broker_id;
    broker_io io;
    bool connected, connecting, inflight;
    uint32_t correlation;
    int64_t sent_ms;
    sl_arena arena;
    struct lag_client *next;
} lag_client;

struct broker_group_lag {
    broker *b;
    sl_map cache; /* key → lag_entry */
    lag_client *clients;
    int64_t refresh_last_ms;
};

/* ---------------- cache ---------------- */

static uint8_t *tp_key(sl_str topic, int32_t partition, size_t *len_out) {
    size_t tlen = topic.len > 0 ? (size_t)topic.len : 0;
    uint8_t *key = sl_malloc(tlen + 4);
    if (tlen) memcpy(key, topic.ptr, tlen);
    sl_store_be32(key + tlen, (uint32_t)partition);
    *len_out = tlen + 4;
    return key;
}

static lag_entry *cache_get(broker_group_lag *lag, sl_str topic, int32_t partition, bool create) {
    size_t len;
    uint8_t *key = tp_key(topic, partition, &len);
    lag_entry *e = sl_map_get(&lag->cache, key, len);
    if (e || !create) {
        sl_free(key);
        return e;
    }
    e = SL_NEW(lag_entry);
    e->key = key;
    e->key_len = len;
    e->end_offset = -1;
    sl_map_put(&lag->cache, e->key, e->key_len, e);
    return e;
}

static void cache_forget_old(broker_group_lag *lag, int64_t now_ms) {
    for (size_t i = 0; i < lag->cache.cap; i++) {
        if (!sl_map_slot_used(&lag->cache, i)) continue;
        lag_entry *e = lag->cache.slots[i].value;
        if (now_ms - e->wanted_ms < LAG_FORGET_MS) continue;
        sl_map_remove(&lag->cache, e->key, e->key_len);
        sl_free(e->key);
        sl_free(e);
    }
}

/* The end offset a consumer of (topic, partition) can reach, or -1 when unknown. */
static int64_t end_offset(broker *b, broker_group_lag *lag, sl_str topic, int32_t partition) {
    broker_partition *p = broker_partition_get(b, topic.ptr, (size_t)topic.len, partition);
    if (p && p->log && p->role == BROKER_ROLE_LEADER) return p->high_watermark;
    lag_entry *e = lag ? cache_get(lag, topic, partition, false) : NULL;
    if (!e || e->fetched_ms == 0 || sl_now_ms() - e->fetched_ms > LAG_STALE_MS) return -1;
    return e->end_offset;
}

/* ---------------- the ListOffsets client ---------------- */

static void client_disconnect(lag_client *c) {
    if (c->io.fd >= 0) broker_io_deinit(&c->io);
    c->io.fd = -1;
    c->connected = c->connecting = c->inflight = false;
}

static void client_handle(lag_client *c, const uint8_t *frame, size_t size) {
    sl_reader r;
    sl_reader_init(&r, frame, size);
    int32_t corr = sl_reader_i32(&r); /* response header v0 */
    if (sl_reader_err(&r) || (uint32_t)corr != c->correlation) {
        client_disconnect(c);
        return;
    }
    sl_arena_reset(&c->arena);
    protocol_ListOffsetsResponse resp;
    protocol_ListOffsetsResponse_init(&resp);
    if (protocol_ListOffsetsResponse_decode(&r, LIST_OFFSETS_VERSION, &c->arena, &resp) < 0) {
        client_disconnect(c);
        return;
    }
    int64_t now = sl_now_ms();
    for (int32_t t = 0; t < resp.Topics.count; t++) {
        const protocol_ListOffsetsResponse_ListOffsetsTopicResponse *rt = &resp.Topics.items[t];
        for (int32_t i = 0; i < rt->Partitions.count; i++) {
            const protocol_ListOffsetsResponse_ListOffsetsPartitionResponse *rp =
                &rt->Partitions.items[i];
            if (rp->ErrorCode) continue; /* leadership moved: the next refresh asks anew */
            lag_entry *e = cache_get(c->lag, rt->Name, rp->PartitionIndex, false);
            if (!e) continue;
            e->end_offset = rp->Offset;
            e->fetched_ms = now;
        }
    }
}

static void client_io_cb(int fd, short what, void *arg) {
    (void)fd;
    lag_client *c = arg;
    if (c->connecting && (what & EV_WRITE)) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            client_disconnect(c);
            return;
        }
        c->connecting = false;
        c->connected = true;
        broker_io_want_read(&c->io, true);
        if (broker_io_flush(&c->io) < 0) client_disconnect(c); /* the queued request */
        return;
    }
    if (what & EV_WRITE) {
        if (broker_io_flush(&c->io) < 0) client_disconnect(c);
        return;
    }
    if (broker_io_read(&c->io, 4 << 20, 0, true) < 0) {
        client_disconnect(c);
        return;
    }
    for (int guard = 0; guard < 16 && c->io.fd >= 0; guard++) {
        const uint8_t *frame;
        size_t size;
        int rc = broker_io_frame(&c->io, LAG_RESPONSE_MAX, &frame, &size);
        if (rc == SL_AGAIN) break;
        if (rc < 0) {
            client_disconnect(c);
            return;
        }
        c->inflight = false;
        client_handle(c, frame, size);
        if (c->io.fd >= 0) broker_io_consume(&c->io, size + 4);
    }
}

static bool client_connect(lag_client *c) {
    broker *b = c->lag->b;
    const metadata_broker *mb = metadata_image_broker(&b->image, c->broker_id);
    const char *listener = b->cfg.advertised[b->cfg.inter_broker_index].name;
    const metadata_endpoint *ep = mb ? metadata_broker_endpoint(mb, listener) : NULL;
    if (!ep && mb) ep = metadata_broker_endpoint(mb, NULL);
    if (!ep) return false;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%d", ep->port);
    if (getaddrinfo(ep->host, port, &hints, &res) != 0 || !res) return false;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -1 : connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (fd < 0 || (rc < 0 && errno != EINPROGRESS)) {
        if (fd >= 0) close(fd);
        return false;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    broker_io_init(&c->io, b->base, fd, client_io_cb, c);
    snprintf(c->io.peer, sizeof(c->io.peer), "%s:%d", ep->host, ep->port);
    c->connecting = true;
    event_add(c->io.ev_write, NULL);
    return true;
}

static lag_client *client_for(broker_group_lag *lag, int32_t broker_id) {
    for (lag_client *c = lag->clients; c; c = c->next) {
        if (c->broker_id == broker_id) return c;
    }
    lag_client *c = SL_NEW(lag_client);
    c->lag = lag;
    c->broker_id = broker_id;
    c->io.fd = -1;
    sl_arena_init(&c->arena);
    c->next = lag->clients;
    lag->clients = c;
    return c;
}

/* Queue one ListOffsets (latest) for the partitions of req; connects when needed. */
static void client_send(lag_client *c, const protocol_ListOffsetsRequest *req, int64_t now_ms) {
    if (c->inflight && now_ms - c->sent_ms > LAG_REQUEST_TIMEOUT_MS) client_disconnect(c);
    if (c->inflight) return;
    if (!c->connected && !c->connecting && !client_connect(c)) return;
    protocol_request_header h = { LIST_OFFSETS_KEY, LIST_OFFSETS_VERSION, (int32_t)++c->correlation,
                                  sl_str_c("sluice-lag") };
    sl_buf *out = &c->io.out;
    size_t slot = sl_buf_put_slot_i32(out);
    protocol_request_header_encode(out, &h);
    protocol_ListOffsetsRequest_encode(out, LIST_OFFSETS_VERSION, req);
    sl_buf_patch_i32(out, slot, (int32_t)(out->len - slot - 4));
    c->inflight = true;
    c->sent_ms = now_ms;
    if (c->connected && broker_io_flush(&c->io) < 0) client_disconnect(c);
}

/* ---------------- refresh ---------------- */

/* One remote partition to ask about. */
typedef struct lag_want {
    int32_t leader;
    const lag_entry *entry;
} lag_want;

static int want_cmp(const void *a, const void *b) {
    const lag_want *x = a, *y = b;
    if (x->leader != y->leader) return x->leader < y->leader ? -1 : 1;
    size_t n = x->entry->key_len < y->entry->key_len ? x->entry->key_len : y->entry->key_len;
    int c = memcmp(x->entry->key, y->entry->key, n);
    return c ? c
             : (x->entry->key_len > y->entry->key_len) - (x->entry->key_len < y->entry->key_len);
}

/* Build and send one request per leader for wants[from, to) (sorted, so one topic's
 * partitions are adjacent). */
static void send_to_leader(
    broker_group_lag *lag, const lag_want *wants, size_t from, size_t to, int64_t now_ms) {
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_ListOffsetsRequest req;
    protocol_ListOffsetsRequest_init(&req);
    req.ReplicaId = -1;
    req.IsolationLevel = 0; /* read_uncommitted: the high watermark */
    req.Topics.items = sl_arena_array(&arena, to - from + 1, sizeof(*req.Topics.items));
    for (size_t i = from; i < to; i++) {
        const lag_entry *e = wants[i].entry;
        sl_str topic = { (const char *)e->key, (int32_t)(e->key_len - 4) };
        protocol_ListOffsetsRequest_ListOffsetsTopic *t =
            req.Topics.count ? &req.Topics.items[req.Topics.count - 1] : NULL;
        if (!t || !sl_str_eq(t->Name, topic)) {
            t = &req.Topics.items[req.Topics.count++];
            protocol_ListOffsetsRequest_ListOffsetsTopic_init(t);
            t->Name = topic;
            t->Partitions.items =
                sl_arena_array(&arena, to - from + 1, sizeof(*t->Partitions.items));
        }
        protocol_ListOffsetsRequest_ListOffsetsPartition *p =
            &t->Partitions.items[t->Partitions.count++];
        protocol_ListOffsetsRequest_ListOffsetsPartition_init(p);
        p->PartitionIndex = (int32_t)sl_load_be32(e->key + e->key_len - 4);
        p->Timestamp = TS_LATEST;
    }
    client_send(client_for(lag, wants[from].leader), &req, now_ms);
    sl_arena_deinit(&arena);
}

/* Mark every committed partition of core's groups led elsewhere as wanted. */
static size_t collect_wants(
    broker_group_lag *lag, broker_group_core *core, int64_t now_ms, lag_want *wants, size_t max) {
    broker *b = lag->b;
    size_t n = 0;
    const sl_map *groups = broker_group_core_groups(core);
    for (size_t i = 0; i < groups->cap && n < max; i++) {
        if (!sl_map_slot_used(groups, i)) continue;
        const broker_group *g = groups->slots[i].value;
        for (size_t k = 0; k < g->offsets.cap && n < max; k++) {
            if (!sl_map_slot_used(&g->offsets, k)) continue;
            const broker_group_offset *o = g->offsets.slots[k].value;
            const metadata_topic *t = metadata_image_topic(&b->image, o->topic, strlen(o->topic));
            const metadata_partition *mp = metadata_topic_partition(t, o->partition);
            if (!mp || mp->leader < 0 || mp->leader == b->cfg.node_id) continue;
            lag_entry *e = cache_get(lag, sl_str_c(o->topic), o->partition, true);
            if (e->wanted_ms == now_ms) continue; /* another group asked already */
            e->wanted_ms = now_ms;
            wants[n++] = (lag_want){ mp->leader, e };
        }
    }
    return n;
}

void broker_group_lag_tick(broker_group_lag *lag, int64_t now_ms) {
    broker *b = lag->b;
    broker_group_core *core = broker_groups_core(b);
    if (!core || !b->cfg.metrics_listener || !b->cfg.metrics_listener[0]) return;
    if (now_ms - lag->refresh_last_ms < BROKER_GROUP_LAG_REFRESH_MS) return;
    lag->refresh_last_ms = now_ms;
    size_t max = LAG_PARTITIONS_MAX;
    lag_want *wants = sl_calloc(max, sizeof(*wants));
    size_t n = collect_wants(lag, core, now_ms, wants, max);
    qsort(wants, n, sizeof(*wants), want_cmp);
    for (size_t from = 0, to; from < n; from = to) {
        for (to = from + 1; to < n && wants[to].leader == wants[from].leader;)
            to++;
        send_to_leader(lag, wants, from, to, now_ms);
    }
    sl_free(wants);
    cache_forget_old(lag, now_ms);
}

broker_group_lag *broker_group_lag_new(broker *b) {
    broker_group_lag *lag = SL_NEW(broker_group_lag);
    lag->b = b;
    sl_map_init(&lag->cache);
    return lag;
}

void broker_group_lag_free(broker_group_lag *lag) {
    if (!lag) return;
    while (lag->clients) {
        lag_client *c = lag->clients;
        lag->clients = c->next;
        client_disconnect(c);
        sl_arena_deinit(&c->arena);
        sl_free(c);
    }
    for (size_t i = 0; i < lag->cache.cap; i++) {
        if (!sl_map_slot_used(&lag->cache, i)) continue;
        lag_entry *e = lag->cache.slots[i].value;
        sl_free(e->key);
        sl_free(e);
    }
    sl_map_deinit(&lag->cache);
    sl_free(lag);
}

/* ---------------- /metrics ---------------- */

/* A Prometheus label value: backslash, quote and newline escaped. */
static void label_value(sl_buf *out, const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' || s[i] == '"') {
            sl_buf_put_u8(out, '\\');
            sl_buf_put_u8(out, (uint8_t)s[i]);
        } else if (s[i] == '\n') {
            sl_buf_put_cstr(out, "\\n");
        } else {
            sl_buf_put_u8(out, (uint8_t)s[i]);
        }
    }
}

/* consumergroup="…"[,topic="…"[,partition="…"]] as a NUL-terminated string in lbl. */
static const char *
labels(sl_buf *lbl, const broker_group *g, const char *topic, int32_t partition) {
    sl_buf_reset(lbl);
    sl_buf_put_cstr(lbl, "consumergroup=\"");
    label_value(lbl, g->id, g->id_len);
    sl_buf_put_u8(lbl, '"');
    if (topic) {
        sl_buf_put_cstr(lbl, ",topic=\"");
        label_value(lbl, topic, strlen(topic));
        sl_buf_put_u8(lbl, '"');
    }
    if (partition >= 0) sl_buf_printf(lbl, ",partition=\"%d\"", partition);
    sl_buf_put_u8(lbl, '\0');
    return (const char *)lbl->data;
}

/* The group's committed offsets sorted by topic and partition (caller frees). */
static int32_t sorted_offsets(const broker_group *g, const broker_group_offset ***out) {
    const broker_group_offset **all = sl_calloc(g->offsets.count + 1, sizeof(*all));
    int32_t n = 0;
    for (size_t i = 0; i < g->offsets.cap; i++) {
        if (!sl_map_slot_used(&g->offsets, i)) continue;
        const broker_group_offset *o = g->offsets.slots[i].value;
        if (o->committed) all[n++] = o;
    }
    for (int32_t i = 1; i < n; i++) { /* insertion sort: a group has few partitions */
        const broker_group_offset *x = all[i];
        int32_t j = i - 1;
        while (j >= 0 &&
               (strcmp(all[j]->topic, x->topic) > 0 ||
                (strcmp(all[j]->topic, x->topic) == 0 && all[j]->partition > x->partition))) {
            all[j + 1] = all[j];
            j--;
        }
        all[j + 1] = x;
    }
    *out = all;
    return n;
}

/* The per-partition series (current offset, lag) and their per-topic sums for g. */
static void collect_group(
    broker *b, broker_group_lag *lag, const broker_group *g, int family, sl_buf *out, sl_buf *lbl) {
    static const char *names[] = { "kafka_consumergroup_current_offset",
                                   "kafka_consumergroup_current_offset_sum",
                                   "kafka_consumergroup_lag", "kafka_consumergroup_lag_sum" };
    const broker_group_offset **all;
    int32_t n = sorted_offsets(g, &all);
    double sum = 0;
    bool any = false;
    for (int32_t i = 0; i < n; i++) {
        const broker_group_offset *o = all[i];
        double v = (double)o->offset;
        bool known = true;
        if (family >= 2) {
            int64_t end = end_offset(b, lag, sl_str_c(o->topic), o->partition);
            known = end >= 0;
            v = known ? (double)(end > o->offset ? end - o->offset : 0) : 0;
        }
        if (known && (family == 0 || family == 2)) {
            sl_metrics_write_sample(out, names[family], labels(lbl, g, o->topic, o->partition), v);
        }
        if (known) {
            sum += v;
            any = true;
        }
        bool last_of_topic = i + 1 == n || strcmp(all[i + 1]->topic, o->topic) != 0;
        if (last_of_topic && (family == 1 || family == 3) && any) {
            sl_metrics_write_sample(out, names[family], labels(lbl, g, o->topic, -1), sum);
        }
        if (last_of_topic) {
            sum = 0;
            any = false;
        }
    }
    sl_free(all);
}

void broker_group_lag_collect(broker *b,
                              broker_group_lag *lag,
                              broker_group_core *core,
                              sl_buf *out) {
    static const struct {
        const char *name, *help;
    } fam[] = {
        { "kafka_consumergroup_current_offset", "Current committed offset of a consumer group "
                                                "at a topic partition" },
        { "kafka_consumergroup_current_offset_sum", "Sum of a consumer group's committed "
                                                    "offsets of a topic" },
        { "kafka_consumergroup_lag", "Current approximate lag of a consumer group at a topic "
                                     "partition" },
        { "kafka_consumergroup_lag_sum", "Current approximate lag of a consumer group at a "
                                         "topic for all partitions" },
        { "kafka_consumergroup_members", "Amount of members in a consumer group" },
    };
    const sl_map *groups = core ? broker_group_core_groups(core) : NULL;
    sl_buf lbl;
    sl_buf_init(&lbl);
    for (int f = 0; f < 5; f++) {
        sl_metrics_write_header(out, fam[f].name, fam[f].help, "gauge");
        for (size_t i = 0; groups && i < groups->cap; i++) {
            if (!sl_map_slot_used(groups, i)) continue;
            const broker_group *g = groups->slots[i].value;
            if (f == 4) {
                sl_metrics_write_sample(out, fam[f].name, labels(&lbl, g, NULL, -1),
                                        g->member_count);
            } else {
                collect_group(b, lag, g, f, out, &lbl);
            }
        }
    }
    sl_buf_deinit(&lbl);
}
