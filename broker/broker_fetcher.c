/* broker_fetcher.c — follower replication: one fetcher per leader broker pulls every
 * partition this broker follows from it, with Kafka Fetch requests (v12, replica_id set),
 * so batches move as the exact bytes on the leader's disk.
 *
 * Each response: whole batches are CRC-checked and appended as they are (offsets and
 * epochs already assigned); a DivergingEpoch makes the follower truncate to where its log
 * and the leader's agree (KIP-320: min of both end offsets for the epoch) before fetching
 * again; OFFSET_OUT_OF_RANGE below the leader's log start restarts the log there.
 * The next fetch goes out as soon as a response is handled (the leader long-polls). */
#include "broker/broker_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_failpoint.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FETCH_VERSION       12
#define FETCHER_RETRY_MS    100 /* reconnect / error backoff floor */

typedef struct fetch_part {
    broker_partition *p;
    int32_t epoch_sent; /* leader epoch the in-flight request used, -2 = not in it */
} fetch_part;

struct broker_fetcher {
    broker *b;
    int32_t leader_id;
    broker_io io;
    bool connected;
    bool connecting;
    bool inflight;
    uint32_t correlation;
    fetch_part *parts;
    int32_t count, cap;
    struct event *retry;
    int64_t backoff_ms;
    sl_arena arena; /* response decoding */
    broker_fetcher *next;
};

static void fetcher_send(broker_fetcher *f);

static void fetcher_disconnect(broker_fetcher *f, const char *why) {
    if (f->io.fd >= 0) {
        SL_LOG(SL_INFO, "fetcher", "disconnected", "leader=%d why=%s", f->leader_id, why);
        broker_io_deinit(&f->io);
    }
    f->io.fd = -1;
    f->connected = f->connecting = f->inflight = false;
    for (int32_t i = 0; i < f->count; i++) f->parts[i].epoch_sent = -2;
}

static void fetcher_schedule(broker_fetcher *f, int64_t delay_ms) {
    struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };
    evtimer_add(f->retry, &tv);
}

static void fetcher_fail(broker_fetcher *f, const char *why) {
    fetcher_disconnect(f, why);
    int64_t delay = f->backoff_ms;
    int64_t cap = f->b->cfg.replica_fetch_backoff_ms > FETCHER_RETRY_MS
                      ? f->b->cfg.replica_fetch_backoff_ms
                      : FETCHER_RETRY_MS;
    f->backoff_ms = f->backoff_ms * 2 > cap ? cap : f->backoff_ms * 2;
    fetcher_schedule(f, delay);
}

/* ---------------- response handling ---------------- */

static fetch_part *part_find(broker_fetcher *f, const char *topic, size_t len, int32_t id) {
    for (int32_t i = 0; i < f->count; i++) {
        broker_partition *p = f->parts[i].p;
        if (p->id == id && strlen(p->topic->name) == len && memcmp(p->topic->name, topic, len) == 0) {
            return &f->parts[i];
        }
    }
    return NULL;
}

static void partition_truncate(broker *b, broker_partition *p, int64_t offset, const char *why) {
    int64_t leo = storage_log_end_offset(p->log);
    /* At or past the log end there is no batch to cut, but an epoch this broker assigned
     * as leader and never wrote in may sit at the log end; truncating there drops it
     * (else the next fetch diverges again). */
    bool cut = offset < leo;
    if (cut) {
        SL_LOG(SL_INFO, "fetcher", "truncated", "topic=%s partition=%d from=%" PRId64
               " to=%" PRId64 " why=%s", p->topic->name, p->id, leo, offset, why);
    }
    int rc = storage_log_truncate_to(p->log, cut ? offset : leo);
    if (rc < 0) {
        SL_LOG(SL_ERROR, "fetcher", "truncate_failed", "topic=%s partition=%d err=%s",
               p->topic->name, p->id, sl_strerror(rc));
        return;
    }
    if (!cut) return;
    broker_pstate_load(p->pstate, p->log);
    if (p->high_watermark > storage_log_end_offset(p->log)) {
        p->high_watermark = storage_log_end_offset(p->log);
    }
    (void)b;
}

/* KIP-320: truncate to min(leader's end offset, ours) for the largest common epoch. */
static void handle_divergence(broker *b, broker_partition *p,
                              const protocol_FetchResponse_PartitionData *pd) {
    int32_t le = pd->DivergingEpoch.Epoch;
    int64_t lend = pd->DivergingEpoch.EndOffset;
#ifdef SL_FAILPOINTS
    if (sl_failpoint_on("skip_truncation")) {
        /* planted: keep the divergent tail and claim the leader's epoch from our log end,
         * so the next fetch is accepted and appends after it */
        storage_log_epoch_assign(p->log, p->leader_epoch, storage_log_end_offset(p->log));
        return;
    }
#endif
    if (le < 0 || lend < 0) {
        partition_truncate(b, p, p->high_watermark, "leader_has_no_epoch");
        return;
    }
    int32_t fe = -1;
    int64_t fend = -1;
    storage_log_epoch_end_offset(p->log, le, &fe, &fend);
    int64_t to;
    if (fe < 0 || fend < 0) {
        to = p->high_watermark;
    } else if (fe == le) {
        to = lend < fend ? lend : fend;
    } else {
        to = fend;
    }
    partition_truncate(b, p, to, "diverging_epoch");
}

/* Append the whole batches of records (a trailing partial batch is dropped). */
static int append_records(broker *b, broker_partition *p, sl_bytes records) {
    size_t off = 0, whole = 0, len = (size_t)records.len;
    while (off < len) {
        size_t size;
        if (protocol_batch_size(records.ptr + off, len - off, len, &size) != SL_OK) break;
        if (off + size > len) break; /* partial batch at max bytes */
        protocol_batch_header h;
        if (protocol_batch_check(records.ptr + off, size, &h) != SL_OK) {
            SL_LOG(SL_WARN, "fetcher", "corrupt_batch", "topic=%s partition=%d at=%zu",
                   p->topic->name, p->id, off);
            break;
        }
        off += size;
        whole = off;
    }
    if (whole == 0) return SL_OK;
    storage_append_info info;
    int rc = storage_log_append_replica(p->log, records.ptr, whole, sl_wall_ms(), &info);
    if (rc < 0) {
        SL_LOG(SL_WARN, "fetcher", "append_failed", "topic=%s partition=%d err=%s leo=%" PRId64,
               p->topic->name, p->id, sl_strerror(rc), storage_log_end_offset(p->log));
        return rc;
    }
    broker_pstate_update_all(p->pstate, records.ptr, whole);
    (void)b;
    return SL_OK;
}

static void handle_partition(broker_fetcher *f, fetch_part *fp,
                             const protocol_FetchResponse_PartitionData *pd) {
    broker *b = f->b;
    broker_partition *p = fp->p;
    SL_LOG(SL_DEBUG, "fetcher", "partition_response", "topic=%s partition=%d error=%d bytes=%d"
           " hw=%lld leo=%lld epoch_sent=%d epoch=%d", p->topic->name, p->id, pd->ErrorCode,
           pd->Records.len, (long long)pd->HighWatermark, (long long)storage_log_end_offset(p->log),
           fp->epoch_sent, p->leader_epoch);
    if (fp->epoch_sent != p->leader_epoch || p->role != BROKER_ROLE_FOLLOWER) return;
    switch (pd->ErrorCode) {
    case PROTOCOL_ERR_NONE:
        if (pd->DivergingEpoch.Epoch >= 0 || pd->DivergingEpoch.EndOffset >= 0) {
            handle_divergence(b, p, pd);
            return;
        }
        if (pd->Records.len > 0) append_records(b, p, pd->Records);
        broker_replica_follower_hw(b, p, pd->HighWatermark);
        /* DeleteRecords on the leader moves our log start too */
        if (pd->LogStartOffset > storage_log_start_offset(p->log) &&
            pd->LogStartOffset <= storage_log_end_offset(p->log)) {
            storage_log_advance_start_offset(p->log, pd->LogStartOffset);
        }
        return;
    case PROTOCOL_ERR_OFFSET_OUT_OF_RANGE: {
        int64_t leo = storage_log_end_offset(p->log);
        if (pd->LogStartOffset > leo) {
            SL_LOG(SL_INFO, "fetcher", "log_restarted", "topic=%s partition=%d at=%" PRId64,
                   p->topic->name, p->id, pd->LogStartOffset);
            storage_log_truncate_fully_and_start_at(p->log, pd->LogStartOffset);
            broker_pstate_load(p->pstate, p->log);
            p->high_watermark = pd->LogStartOffset;
        } else if (pd->HighWatermark >= 0) {
            partition_truncate(b, p, pd->HighWatermark, "offset_out_of_range");
        }
        return;
    }
    default:
        /* not leader / fenced epoch / unknown topic: the metadata log will tell us more */
        SL_LOG(SL_DEBUG, "fetcher", "partition_error", "topic=%s partition=%d error=%s",
               p->topic->name, p->id, protocol_error_name(pd->ErrorCode));
        return;
    }
}

static void fetcher_handle_response(broker_fetcher *f, const uint8_t *frame, size_t size) {
    sl_reader r;
    sl_reader_init(&r, frame, size);
    int32_t corr = sl_reader_i32(&r);
    sl_reader_uvarint(&r); /* response header v1: empty tagged fields */
    if (sl_reader_err(&r) || (uint32_t)corr != f->correlation) {
        fetcher_fail(f, "bad_response_header");
        return;
    }
    sl_arena_reset(&f->arena);
    protocol_FetchResponse resp;
    protocol_FetchResponse_init(&resp);
    if (protocol_FetchResponse_decode(&r, FETCH_VERSION, &f->arena, &resp) < 0) {
        fetcher_fail(f, "malformed_response");
        return;
    }
    int errors = 0, handled = 0;
    for (int32_t t = 0; t < resp.Responses.count; t++) {
        const protocol_FetchResponse_FetchableTopicResponse *tr = &resp.Responses.items[t];
        for (int32_t i = 0; i < tr->Partitions.count; i++) {
            const protocol_FetchResponse_PartitionData *pd = &tr->Partitions.items[i];
            fetch_part *fp = part_find(f, tr->Topic.ptr, (size_t)tr->Topic.len, pd->PartitionIndex);
            if (!fp) continue;
            handled++;
            if (pd->ErrorCode) errors++;
            handle_partition(f, fp, pd);
        }
    }
    f->backoff_ms = FETCHER_RETRY_MS;
    if (handled > 0 && errors == handled) {
        fetcher_schedule(f, FETCHER_RETRY_MS); /* everything failed: wait for metadata */
    } else {
        fetcher_send(f);
    }
}

/* ---------------- I/O ---------------- */

static void fetcher_io_cb(int fd, short what, void *arg) {
    (void)fd;
    broker_fetcher *f = arg;
    if (f->connecting && (what & EV_WRITE)) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(f->io.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            fetcher_fail(f, strerror(err));
            return;
        }
        f->connecting = false;
        f->connected = true;
        event_del(f->io.ev_write);
        broker_io_want_read(&f->io, true);
        SL_LOG(SL_INFO, "fetcher", "connected", "leader=%d peer=%s", f->leader_id, f->io.peer);
        fetcher_send(f);
        return;
    }
    if (what & EV_WRITE) {
        if (broker_io_flush(&f->io) < 0) fetcher_fail(f, "write_error");
        return;
    }
    if (broker_io_read(&f->io, 16 << 20, 0, true) < 0) {
        fetcher_fail(f, "eof");
        return;
    }
    for (int guard = 0; guard < 64 && f->io.fd >= 0; guard++) {
        const uint8_t *frame;
        size_t size;
        int rc = broker_io_frame(&f->io, 256u << 20, &frame, &size);
        if (rc == SL_AGAIN) {
            /* grow for the whole frame and read on: once the socket is drained no new
             * read event comes, so a frame completed here must be handled now */
            if (size && broker_io_read(&f->io, 16 << 20, size + 4, true) > 0) continue;
            break;
        }
        if (rc < 0) {
            fetcher_fail(f, "bad_frame");
            return;
        }
        f->inflight = false;
        fetcher_handle_response(f, frame, size);
        if (f->io.fd >= 0) broker_io_consume(&f->io, size + 4);
    }
}

static const metadata_endpoint *leader_endpoint(broker *b, int32_t leader_id) {
    const metadata_broker *mb = metadata_image_broker(&b->image, leader_id);
    if (!mb) return NULL;
    const char *listener = b->cfg.advertised[b->cfg.inter_broker_index].name;
    const metadata_endpoint *ep = metadata_broker_endpoint(mb, listener);
    return ep ? ep : metadata_broker_endpoint(mb, NULL);
}

static void fetcher_connect(broker_fetcher *f) {
    broker *b = f->b;
    const metadata_endpoint *ep = leader_endpoint(b, f->leader_id);
    if (!ep) {
        fetcher_fail(f, "no_endpoint");
        return;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%d", ep->port);
    if (getaddrinfo(ep->host, port, &hints, &res) != 0 || !res) {
        fetcher_fail(f, "resolve");
        return;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        fetcher_fail(f, "socket");
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc < 0 && errno != EINPROGRESS) {
        close(fd);
        fetcher_fail(f, "connect");
        return;
    }
    broker_io_init(&f->io, b->base, fd, fetcher_io_cb, f);
    snprintf(f->io.peer, sizeof(f->io.peer), "%s:%d", ep->host, ep->port);
    f->connecting = true;
    event_add(f->io.ev_write, NULL);
}

/* ---------------- requests ---------------- */

static void fetcher_build(broker_fetcher *f, sl_arena *arena, protocol_FetchRequest *req) {
    broker *b = f->b;
    protocol_FetchRequest_init(req);
    req->ReplicaId = b->cfg.node_id;
    req->MaxWaitMs = b->cfg.replica_fetch_wait_max_ms;
    req->MinBytes = b->cfg.replica_fetch_min_bytes;
    req->MaxBytes = b->cfg.replica_fetch_response_max_bytes;
    req->Topics.items = sl_arena_array(arena, (size_t)f->count + 1, sizeof(*req->Topics.items));
    req->Topics.count = 0;
    for (int32_t i = 0; i < f->count; i++) {
        broker_partition *p = f->parts[i].p;
        f->parts[i].epoch_sent = p->leader_epoch;
        /* one topic entry per partition: simple, and the leader accepts repeats */
        protocol_FetchRequest_FetchTopic *ft = &req->Topics.items[req->Topics.count++];
        protocol_FetchRequest_FetchTopic_init(ft);
        ft->Topic = sl_str_c(p->topic->name);
        memcpy(ft->TopicId.b, p->topic->id.b, 16);
        ft->Partitions.items = sl_arena_alloc(arena, sizeof(*ft->Partitions.items));
        ft->Partitions.count = 1;
        protocol_FetchRequest_FetchPartition *fp = &ft->Partitions.items[0];
        protocol_FetchRequest_FetchPartition_init(fp);
        fp->Partition = p->id;
        fp->CurrentLeaderEpoch = p->leader_epoch;
        fp->FetchOffset = storage_log_end_offset(p->log);
        fp->LastFetchedEpoch = storage_log_latest_epoch(p->log);
        fp->LogStartOffset = storage_log_start_offset(p->log);
        fp->PartitionMaxBytes = b->cfg.replica_fetch_max_bytes;
    }
}

static void fetcher_send(broker_fetcher *f) {
    if (f->inflight || f->count == 0) return;
    if (!f->connected) {
        if (!f->connecting) fetcher_connect(f);
        return;
    }
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_FetchRequest req;
    fetcher_build(f, &arena, &req);
    protocol_request_header h = { 1, FETCH_VERSION, (int32_t)++f->correlation,
                                  sl_str_c("sluice-replica") };
    sl_buf *out = &f->io.out;
    size_t slot = sl_buf_put_slot_i32(out);
    protocol_request_header_encode(out, &h);
    protocol_FetchRequest_encode(out, FETCH_VERSION, &req);
    sl_buf_patch_i32(out, slot, (int32_t)(out->len - slot - 4));
    sl_arena_deinit(&arena);
    f->inflight = true;
    SL_LOG(SL_DEBUG, "fetcher", "fetch_sent", "leader=%d correlation=%u partitions=%d",
           f->leader_id, f->correlation, f->count);
    if (broker_io_flush(&f->io) < 0) fetcher_fail(f, "write_error");
}

static void fetcher_retry_cb(int fd, short what, void *arg) {
    (void)fd;
    (void)what;
    fetcher_send(arg);
}

/* ---------------- membership ---------------- */

static broker_fetcher *fetcher_for(broker *b, int32_t leader_id, bool create) {
    for (broker_fetcher *f = b->fetchers; f; f = f->next) {
        if (f->leader_id == leader_id) return f;
    }
    if (!create) return NULL;
    broker_fetcher *f = SL_NEW(broker_fetcher);
    f->b = b;
    f->leader_id = leader_id;
    f->io.fd = -1;
    f->backoff_ms = FETCHER_RETRY_MS;
    f->retry = evtimer_new(b->base, fetcher_retry_cb, f);
    sl_arena_init(&f->arena);
    f->next = b->fetchers;
    b->fetchers = f;
    return f;
}

static void fetcher_free(broker *b, broker_fetcher *f) {
    for (broker_fetcher **pp = &b->fetchers; *pp; pp = &(*pp)->next) {
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    }
    fetcher_disconnect(f, "unused");
    event_free(f->retry);
    sl_arena_deinit(&f->arena);
    sl_free(f->parts);
    sl_free(f);
}

void broker_fetcher_add(broker *b, broker_partition *p) {
    broker_fetcher *f = fetcher_for(b, p->leader_id, true);
    if (f->count == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->parts = sl_realloc(f->parts, (size_t)f->cap * sizeof(fetch_part));
    }
    f->parts[f->count++] = (fetch_part){ p, -2 };
    p->fetcher = f;
    fetcher_send(f);
}

void broker_fetcher_remove(broker *b, broker_partition *p) {
    broker_fetcher *f = p->fetcher;
    if (!f) return;
    for (int32_t i = 0; i < f->count; i++) {
        if (f->parts[i].p == p) {
            f->parts[i] = f->parts[--f->count];
            break;
        }
    }
    p->fetcher = NULL;
    if (f->count == 0) fetcher_free(b, f);
}

void broker_fetchers_refresh(broker *b) {
    /* a leader that re-registered may have a new address: reconnect idle fetchers */
    for (broker_fetcher *f = b->fetchers; f; f = f->next) {
        if (!f->connected && !f->connecting) fetcher_send(f);
    }
}

void broker_fetchers_stop(broker *b) {
    while (b->fetchers) {
        broker_fetcher *f = b->fetchers;
        for (int32_t i = 0; i < f->count; i++) f->parts[i].p->fetcher = NULL;
        fetcher_free(b, f);
    }
}
