/* tools_util.c — pieces of the perf tools that need no client library: the latency
 * histogram, the --throughput token bucket, date and escape formatting, and payload files.
 *
 * Histogram layout (see tools.h): values below 2 << SUB_BITS (256) have one bucket each;
 * a larger value v with most significant bit m is put in bucket
 *     (m - SUB_BITS) << SUB_BITS  +  (v >> (m - SUB_BITS)),
 * whose second term lies in [128, 256): each power of two is split into 128 equal
 * buckets and the index space stays contiguous. Recording is a clz and an increment. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_assert.h"
#include "common/sl_err.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

_Static_assert(TOOLS_HIST_BUCKETS >
                   ((TOOLS_HIST_MAX_BITS - 1 - TOOLS_HIST_SUB_BITS) << TOOLS_HIST_SUB_BITS) +
                       (2 << TOOLS_HIST_SUB_BITS) - 1,
               "the largest clamped value must have a bucket");

/* ---- histogram ---- */

static size_t hist_index(uint64_t v) {
    const uint64_t top = ((uint64_t)1 << TOOLS_HIST_MAX_BITS) - 1;
    if (v > top) v = top;
    if (v < ((uint64_t)2 << TOOLS_HIST_SUB_BITS)) return (size_t)v;
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - TOOLS_HIST_SUB_BITS;
    return ((size_t)shift << TOOLS_HIST_SUB_BITS) + (size_t)(v >> shift);
}

/* Midpoint of bucket idx: the value reported for everything in it. */
static int64_t hist_bucket_value(size_t idx) {
    if (idx < ((size_t)2 << TOOLS_HIST_SUB_BITS)) return (int64_t)idx;
    int shift = (int)(idx >> TOOLS_HIST_SUB_BITS) - 1;
    uint64_t mantissa = idx - ((size_t)shift << TOOLS_HIST_SUB_BITS);
    uint64_t low = mantissa << shift;
    uint64_t width = (uint64_t)1 << shift;
    return (int64_t)(low + (width - 1) / 2);
}

void tools_hist_reset(tools_hist *h) {
    memset(h, 0, sizeof(*h));
}

void tools_hist_record(tools_hist *h, int64_t value) {
    if (value < 0) value = 0;
    size_t idx = hist_index((uint64_t)value);
    SL_ASSERT(idx < TOOLS_HIST_BUCKETS);
    h->buckets[idx]++;
    h->count++;
    h->sum += (uint64_t)value;
    if (value > h->max) h->max = value;
}

int64_t tools_hist_percentile(const tools_hist *h, double p) {
    if (h->count == 0) return 0;
    if (p < 0) p = 0;
    uint64_t rank = (uint64_t)(p * (double)h->count);
    if (rank >= h->count) rank = h->count - 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < TOOLS_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen > rank) {
            int64_t v = hist_bucket_value(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max; /* unreachable while count equals the sum of the buckets */
}

/* ---- token bucket ---- */

#define THROTTLE_BURST_SECONDS 0.01 /* 10 ms of records: smooth, yet few wake-ups */

void tools_throttle_init(tools_throttle *t, double rate, int64_t now_ns) {
    t->rate = rate;
    t->burst = rate > 0 ? fmax(1.0, rate * THROTTLE_BURST_SECONDS) : 0;
    t->tokens = rate > 0 ? 1.0 : 0;
    t->last_ns = now_ns;
}

uint64_t tools_throttle_take(tools_throttle *t, uint64_t want, int64_t now_ns, int *wait_ms_out) {
    *wait_ms_out = 0;
    if (t->rate <= 0) return want;
    if (now_ns > t->last_ns) {
        t->tokens = fmin(t->burst, t->tokens + (double)(now_ns - t->last_ns) * t->rate / 1e9);
        t->last_ns = now_ns;
    }
    if (t->tokens < 1.0) {
        double wait_ms = ceil((1.0 - t->tokens) * 1000.0 / t->rate);
        *wait_ms_out = wait_ms < 1 ? 1 : wait_ms > 60000 ? 60000 : (int)wait_ms;
        return 0;
    }
    double allowed = floor(t->tokens);
    uint64_t n = want < (uint64_t)allowed ? want : (uint64_t)allowed;
    t->tokens -= (double)n;
    return n;
}

/* ---- formatting ---- */

void tools_format_date(int64_t wall_ms, char *out, size_t out_size) {
    time_t secs = (time_t)(wall_ms / 1000);
    int ms = (int)(wall_ms % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    struct tm tm;
    localtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out, out_size, "%s:%03d", base, ms);
}

void tools_unescape(const char *s, char *out, size_t out_size) {
    SL_ASSERT(out_size > 0);
    size_t o = 0;
    for (size_t i = 0; s[i] && o + 1 < out_size; i++) {
        char c = s[i];
        if (c == '\\' && s[i + 1]) {
            char e = s[i + 1];
            char m = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e == '\\' ? '\\' : 0;
            if (m) {
                c = m;
                i++;
            }
        }
        out[o++] = c;
    }
    out[o] = '\0';
}

/* ---- payload files ---- */

int tools_payloads_split(tools_payloads *p, char *text, size_t text_size, const char *delim) {
    memset(p, 0, sizeof(*p));
    size_t dlen = strlen(delim);
    SL_ASSERT(dlen > 0);
    /* Two passes over the text: count the pieces, then record them. */
    const char *end = text + text_size;
    for (int pass = 0; pass < 2; pass++) {
        size_t n = 0;
        const char *cur = text;
        while (cur <= end) {
            const char *hit = memmem(cur, (size_t)(end - cur), delim, dlen);
            const char *stop = hit ? hit : end;
            if (stop > cur && pass == 1) {
                p->items[n] = cur;
                p->sizes[n] = (size_t)(stop - cur);
            }
            if (stop > cur) n++;
            if (!hit) break;
            cur = hit + dlen;
        }
        if (n == 0) return SL_E_INVALID;
        if (pass == 0) {
            p->items = sl_calloc(n, sizeof(*p->items));
            p->sizes = sl_calloc(n, sizeof(*p->sizes));
            p->count = n;
        }
    }
    p->data = text;
    p->data_size = text_size;
    return SL_OK;
}

static int payloads_read_file(
    const char *path, char **text_out, size_t *size_out, char *err, size_t err_size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, err_size, "Cannot open payload file %s: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    int rc = SL_OK;
    char *text = NULL;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        snprintf(err, err_size, "Cannot stat payload file %s: %s", path, strerror(-rc));
        goto out;
    }
    if ((uint64_t)st.st_size > TOOLS_PAYLOAD_FILE_MAX) {
        snprintf(err, err_size, "Payload file %s is larger than %zu bytes", path,
                 TOOLS_PAYLOAD_FILE_MAX);
        rc = SL_E_TOO_LARGE;
        goto out;
    }
    size_t size = (size_t)st.st_size;
    text = sl_malloc(size ? size : 1);
    size_t got = 0;
    for (int tries = 0; got < size && tries < 1000000; tries++) {
        ssize_t n = read(fd, text + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    if (got != size) {
        snprintf(err, err_size, "Cannot read payload file %s", path);
        rc = -EIO;
        goto out;
    }
    *text_out = text;
    *size_out = size;
    text = NULL;
out:
    sl_free(text);
    close(fd);
    return rc;
}

int tools_payloads_load(
    tools_payloads *p, const char *path, const char *delim, char *err, size_t err_size) {
    memset(p, 0, sizeof(*p));
    if (delim[0] == '\0') {
        snprintf(err, err_size, "--payload-delimiter must not be empty");
        return SL_E_INVALID;
    }
    char *text = NULL;
    size_t size = 0;
    SL_TRY(payloads_read_file(path, &text, &size, err, err_size));
    int rc = tools_payloads_split(p, text, size, delim);
    if (rc != SL_OK) {
        snprintf(err, err_size, "File does not exist or empty file provided.");
        sl_free(text);
    }
    return rc;
}

void tools_payloads_deinit(tools_payloads *p) {
    sl_free(p->items);
    sl_free(p->sizes);
    sl_free(p->data);
    memset(p, 0, sizeof(*p));
}
