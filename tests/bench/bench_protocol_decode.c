/* bench_protocol_decode.c — decode (and encode) throughput of 1 MiB Produce requests
 * with the generated codecs, in the classic (v7) and flexible (v9) encodings.
 *
 *   build/bin/bench_protocol_decode [seconds per measurement, default 0.5]
 *
 * Two request shapes of about 1 MiB of record bytes each: 1 topic x 64 partitions x
 * 16 KiB batches, and 64 topics x 16 partitions x 1 KiB batches (more structure per
 * byte). Record bytes are opaque to the codec (views, never copied), so the figures
 * measure the structure walk and the arena. The arena is reset between rounds, as a
 * broker does per request. Prints figures only; never a pass/fail test. */
#include "common/sl_arena.h"
#include "common/sl_buf.h"
#include "common/sl_err.h"
#include "common/sl_time.h"
#include "protocol/protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPEATS_MAX 10000000L /* bound on any measurement loop */

static double seconds_g = 0.5;

/* A Produce request: topics x partitions, each partition batch_bytes of record bytes. */
static void make_request(
    protocol_ProduceRequest *req, int topics, int partitions, size_t batch_bytes, sl_arena *arena) {
    protocol_ProduceRequest_init(req);
    req->Acks = -1;
    req->TimeoutMs = 30000;
    req->TopicData.count = topics;
    req->TopicData.items = sl_arena_array(arena, (size_t)topics, sizeof(*req->TopicData.items));
    uint8_t *records = sl_arena_alloc(arena, batch_bytes);
    memset(records, 0x5a, batch_bytes);
    for (int t = 0; t < topics; t++) {
        protocol_ProduceRequest_TopicProduceData *td = &req->TopicData.items[t];
        char *name = sl_arena_alloc(arena, 32);
        int n = snprintf(name, 32, "bench-topic-%d", t);
        td->Name = (sl_str){ name, n };
        td->PartitionData.count = partitions;
        td->PartitionData.items =
            sl_arena_array(arena, (size_t)partitions, sizeof(*td->PartitionData.items));
        for (int p = 0; p < partitions; p++) {
            td->PartitionData.items[p].Index = p;
            td->PartitionData.items[p].Records = (sl_bytes){ records, (int32_t)batch_bytes };
        }
    }
}

static void
bench_shape(const char *shape, int topics, int partitions, size_t batch_bytes, int16_t version) {
    sl_arena setup, arena;
    sl_arena_init(&setup);
    sl_arena_init(&arena);
    protocol_ProduceRequest req, out;
    make_request(&req, topics, partitions, batch_bytes, &setup);
    sl_buf enc;
    sl_buf_init(&enc);
    protocol_ProduceRequest_encode(&enc, version, &req);

    long rounds = 0;
    int64_t start = sl_now_ns();
    while (rounds < REPEATS_MAX &&
           (rounds % 16 || (double)(sl_now_ns() - start) < seconds_g * 1e9)) {
        sl_reader r;
        sl_reader_init(&r, enc.data, enc.len);
        if (protocol_ProduceRequest_decode(&r, version, &arena, &out) != SL_OK) {
            fprintf(stderr, "bench: decode failed\n");
            exit(1);
        }
        sl_arena_reset(&arena);
        rounds++;
    }
    double decode_s = (double)(sl_now_ns() - start) / 1e9;

    sl_buf again;
    sl_buf_init(&again);
    long enc_rounds = 0;
    start = sl_now_ns();
    while (enc_rounds < REPEATS_MAX &&
           (enc_rounds % 16 || (double)(sl_now_ns() - start) < seconds_g * 1e9)) {
        sl_buf_reset(&again);
        protocol_ProduceRequest_encode(&again, version, &req);
        enc_rounds++;
    }
    double encode_s = (double)(sl_now_ns() - start) / 1e9;

    double mb = (double)enc.len / 1e6;
    printf("produce v%-2d %-24s %8zu bytes  decode %8.0f MB/s (%6.1f us/request)  "
           "encode %6.0f MB/s\n",
           version, shape, enc.len, mb * (double)rounds / decode_s, decode_s / (double)rounds * 1e6,
           mb * (double)enc_rounds / encode_s);
    sl_buf_deinit(&again);
    sl_buf_deinit(&enc);
    sl_arena_deinit(&arena);
    sl_arena_deinit(&setup);
}

int main(int argc, char **argv) {
    if (argc > 1) seconds_g = atof(argv[1]);
    if (!(seconds_g > 0)) seconds_g = 0.5;
    for (int16_t version = 7; version <= 9; version += 2) {
        bench_shape("1 topic x 64 x 16KiB", 1, 64, 16384, version);
        bench_shape("64 topics x 16 x 1KiB", 64, 16, 1024, version);
    }
    return 0;
}
