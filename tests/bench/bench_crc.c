/* bench_crc.c — CRC-32C throughput (hardware and table paths), the broker's per-batch
 * check (header + CRC of a 16 KiB batch), and compression / decompression speed per
 * codec for 16 KiB batches of 1 KiB records.
 *
 *   build/bin/bench_crc [seconds per measurement, default 0.3]
 *
 * Prints figures only; never a pass/fail test. Record values are JSON-like text with
 * random fields, compressible about as much as typical event payloads. */
#include "common/sl_crc32c.h"
#include "common/sl_err.h"
#include "common/sl_rand.h"
#include "common/sl_time.h"
#include "protocol/protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRC_BUFFER_BYTES (16u << 20)
#define BATCH_BYTES      (16u << 10)
#define RECORD_BYTES     1024u
#define REPEATS_MAX      100000000L /* bound on any measurement loop */

static double seconds_g = 0.3;
static volatile uint32_t sink_g; /* keeps results alive */

typedef struct timing {
    int64_t start_ns;
    long rounds;
} timing;

static void timing_start(timing *t) {
    t->start_ns = sl_now_ns();
    t->rounds = 0;
}

/* True while the measurement should go on. */
static int timing_more(timing *t) {
    t->rounds++;
    if (t->rounds >= REPEATS_MAX) return 0;
    if (t->rounds % 8) return 1;
    return (double)(sl_now_ns() - t->start_ns) < seconds_g * 1e9;
}

/* Bytes per second over the measured rounds. */
static double timing_rate(const timing *t, size_t bytes_per_round) {
    double elapsed = (double)(sl_now_ns() - t->start_ns) / 1e9;
    return (double)bytes_per_round * (double)t->rounds / elapsed;
}

static void fill_record_value(char *p, size_t n, sl_rand *rng) {
    size_t i = 0;
    static const char *const events[] = { "click", "view", "purchase", "login", "logout" };
    while (i + 1 < n) {
        int w = snprintf(
            p + i, n - i, "{\"user\":%llu,\"event\":\"%s\",\"ts\":%llu,\"amount\":%llu.%02llu},",
            (unsigned long long)sl_rand_below(rng, 100000), events[sl_rand_below(rng, 5)],
            (unsigned long long)(1700000000000ULL + sl_rand_below(rng, 1000000)),
            (unsigned long long)sl_rand_below(rng, 1000),
            (unsigned long long)sl_rand_below(rng, 100));
        if (w <= 0) break;
        i += (size_t)w;
    }
    memset(p + (i < n ? i : n), ' ', n - (i < n ? i : n));
}

/* An uncompressed 16 KiB batch's records section: 16 records of 1 KiB values. */
static void make_batch(int codec, sl_buf *out, sl_buf *records_out) {
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.codec = codec;
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, &opt);
    sl_rand rng;
    sl_rand_seed(&rng, 2026);
    char value[RECORD_BYTES];
    char key[16];
    for (unsigned i = 0; i < BATCH_BYTES / RECORD_BYTES; i++) {
        fill_record_value(value, sizeof(value), &rng);
        snprintf(key, sizeof(key), "user-%u", i);
        sl_bytes k = { (const uint8_t *)key, (int32_t)strlen(key) };
        sl_bytes v = { (const uint8_t *)value, (int32_t)sizeof(value) };
        if (protocol_batch_builder_add(&b, 1700000000000LL + i, k, v, NULL, 0) != SL_OK) abort();
    }
    if (protocol_batch_builder_finish(&b, out) != SL_OK) abort();
    if (records_out) sl_buf_put(records_out, b.records.data, b.records.len);
    protocol_batch_builder_deinit(&b);
}

static void bench_crc(void) {
    uint8_t *data = malloc(CRC_BUFFER_BYTES);
    for (size_t i = 0; i < CRC_BUFFER_BYTES; i++)
        data[i] = (uint8_t)(i * 131 + (i >> 9));
    timing t;
    timing_start(&t);
    do {
        sink_g ^= sl_crc32c(data, CRC_BUFFER_BYTES);
    } while (timing_more(&t));
    printf("crc32c %-8s 16 MiB buffer        %8.2f GB/s\n",
           sl_crc32c_hw_available() ? "hardware" : "(no hw)",
           timing_rate(&t, CRC_BUFFER_BYTES) / 1e9);
    timing_start(&t);
    do {
        sink_g ^= sl_crc32c_update_sw(0, data, CRC_BUFFER_BYTES);
    } while (timing_more(&t));
    printf("crc32c table    16 MiB buffer        %8.2f GB/s\n",
           timing_rate(&t, CRC_BUFFER_BYTES) / 1e9);
    free(data);

    sl_buf batch;
    sl_buf_init(&batch);
    make_batch(PROTOCOL_CODEC_NONE, &batch, NULL);
    protocol_batch_header h;
    timing_start(&t);
    do {
        if (protocol_batch_check(batch.data, batch.len, &h) != SL_OK) abort();
    } while (timing_more(&t));
    double rate = timing_rate(&t, batch.len);
    printf("batch check (header + crc), %zu B   %8.2f GB/s  %10.0f batches/s\n", batch.len,
           rate / 1e9, rate / (double)batch.len);
    sl_buf scratch;
    sl_buf_init(&scratch);
    timing_start(&t);
    do {
        if (protocol_batch_validate_records(batch.data, batch.len, &scratch, 1 << 20) != SL_OK) {
            abort();
        }
    } while (timing_more(&t));
    rate = timing_rate(&t, batch.len);
    printf("iterate records (uncompressed)       %8.2f GB/s  %10.0f records/s\n", rate / 1e9,
           rate / (double)batch.len * (BATCH_BYTES / RECORD_BYTES));
    sl_buf_deinit(&scratch);
    sl_buf_deinit(&batch);
}

static void bench_codec(int codec) {
    sl_buf batch, records, packed, out;
    sl_buf_init(&batch);
    sl_buf_init(&records);
    sl_buf_init(&packed);
    sl_buf_init(&out);
    make_batch(PROTOCOL_CODEC_NONE, &batch, &records);
    timing t;
    timing_start(&t);
    do {
        sl_buf_reset(&packed);
        if (protocol_compress(codec, records.data, records.len, &packed) != SL_OK) abort();
    } while (timing_more(&t));
    double compress_rate = timing_rate(&t, records.len);
    timing_start(&t);
    do {
        sl_buf_reset(&out);
        if (protocol_decompress(codec, packed.data, packed.len, 1 << 20, &out) != SL_OK) abort();
    } while (timing_more(&t));
    double decompress_rate = timing_rate(&t, records.len);
    if (out.len != records.len || memcmp(out.data, records.data, out.len) != 0) abort();
    printf("%-6s %6zu -> %6zu B (%.2fx)  compress %8.1f MB/s  decompress %8.1f MB/s\n",
           protocol_codec_name(codec), records.len, packed.len,
           (double)records.len / (double)packed.len, compress_rate / 1e6, decompress_rate / 1e6);
    sl_buf_deinit(&out);
    sl_buf_deinit(&packed);
    sl_buf_deinit(&records);
    sl_buf_deinit(&batch);
}

int main(int argc, char **argv) {
    if (argc > 1) seconds_g = atof(argv[1]);
    if (seconds_g <= 0 || seconds_g > 60) seconds_g = 0.3;
    bench_crc();
    printf("records section of a 16 KiB batch, 16 records of 1 KiB (rates in input bytes):\n");
    for (int codec = PROTOCOL_CODEC_GZIP; codec <= PROTOCOL_CODEC_ZSTD; codec++) {
        bench_codec(codec);
    }
    return 0;
}
