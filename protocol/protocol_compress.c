/* protocol_compress.c — gzip, snappy, lz4 and zstd for record batches, with output caps
 * (contract and the chosen framings in protocol.h).
 *
 * Decompression appends to an sl_buf through a "sink" that never lets the output pass
 * max_out + 1 bytes: reaching max_out + 1 proves the data would pass the cap, so the
 * call stops with SL_E_TOO_LARGE without inflating the rest. Sizes declared by the
 * input (zstd/lz4 content size, snappy's uncompressed length) are checked against the
 * cap before any memory is reserved for them, and only then used as a size hint.
 * Every loop either consumes input or produces output on each pass, or stops. */
#define ZLIB_CONST
#include "protocol/protocol.h"
#include "common/sl_assert.h"
#include "common/sl_err.h"

#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

/* No codec library takes more than this in one call, and no batch holds more. */
#define COMPRESS_INPUT_MAX ((size_t)INT32_MAX)
/* Room handed to a decoder at a time grows with the output, starting here. */
#define SINK_CHUNK_MIN ((size_t)16 * 1024)
/* Kafka's defaults: gzip Deflater.DEFAULT_COMPRESSION, zstd level 3 (KIP-390);
 * lz4 level 0 is LZ4's fast mode, which Java's default compressor also uses. */
#define GZIP_LEVEL Z_DEFAULT_COMPRESSION
#define ZSTD_LEVEL 3
/* gzip wrapper only: windowBits 15 + 16. Java reads gzip (GZIPInputStream), not zlib. */
#define GZIP_WINDOW_BITS (15 + 16)

/* snappy-java ("xerial") stream header: magic, int32 version, int32 compatible version. */
static const uint8_t xerial_magic[8] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0 };
#define XERIAL_HEADER_BYTES 16
#define XERIAL_VERSION      1
#define XERIAL_COMPAT       1
/* snappy-java's SnappyOutputStream default block size, which Kafka uses. */
#define XERIAL_BLOCK_BYTES ((size_t)32 * 1024)
#define SNAPPY_RATIO_MAX   22

typedef struct sink {
    sl_buf *out;
    size_t start; /* out->len when the call began */
    size_t limit; /* max_out + 1: the output may reach but never pass this */
} sink;

static size_t sink_used(const sink *s) {
    return s->out->len - s->start;
}

/* Reserve room for the decoder's next write. Returns 0 when the limit is reached. */
static size_t sink_take(sink *s, uint8_t **dst) {
    size_t left = s->limit - sink_used(s);
    if (left == 0) return 0;
    size_t room = s->out->cap - s->out->len;
    size_t grow = sink_used(s) > SINK_CHUNK_MIN ? sink_used(s) : SINK_CHUNK_MIN;
    if (room < grow) room = grow;
    if (room > left) room = left;
    *dst = sl_buf_reserve(s->out, room);
    return room;
}

/* Keep `produced` of the `room` bytes taken by sink_take. */
static void sink_keep(sink *s, size_t room, size_t produced) {
    SL_ASSERT(produced <= room);
    sl_buf_truncate(s->out, s->out->len - (room - produced));
}

/* A size declared by the input: over the cap fails at once. Otherwise memory is reserved
 * for it, but at most hint_max bytes: a forged size costs no more than that. */
static int sink_expect(sink *s, uint64_t declared, size_t hint_max) {
    if (declared >= s->limit - sink_used(s)) return SL_E_TOO_LARGE;
    size_t hint = declared < hint_max ? (size_t)declared : hint_max;
    if (hint > 0) sl_buf_ensure(s->out, hint);
    return SL_OK;
}

/* Reserve for declared sizes of lz4/zstd frames at most this multiple of the input. */
#define HINT_RATIO_MAX 64

/* ---------------- gzip ---------------- */

static int gzip_compress(const uint8_t *in, size_t len, sl_buf *out) {
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    int zrc = deflateInit2(&zs, GZIP_LEVEL, Z_DEFLATED, GZIP_WINDOW_BITS, 8, Z_DEFAULT_STRATEGY);
    SL_ASSERT(zrc == Z_OK); /* only fails on bad parameters or no memory */
    size_t bound = deflateBound(&zs, (uLong)len);
    size_t start = out->len;
    zs.next_in = in;
    zs.avail_in = (uInt)len;
    zs.next_out = sl_buf_reserve(out, bound);
    zs.avail_out = (uInt)bound;
    zrc = deflate(&zs, Z_FINISH);
    size_t produced = bound - zs.avail_out;
    deflateEnd(&zs);
    sl_buf_truncate(out, start + produced);
    /* deflateBound guarantees one Z_FINISH call completes the stream */
    if (SL_NEVER(zrc != Z_STREAM_END)) return SL_E_INTERNAL;
    return SL_OK;
}

/* One inflate step into the sink. Returns SL_OK (progress), SL_AGAIN (stream or member
 * ended), or an error. */
static int gzip_step(z_stream *zs, sink *s) {
    uint8_t *dst;
    size_t room = sink_take(s, &dst);
    if (room == 0) return SL_E_TOO_LARGE;
    if (room > UINT_MAX) room = UINT_MAX;
    uInt in_before = zs->avail_in;
    zs->next_out = dst;
    zs->avail_out = (uInt)room;
    int zrc = inflate(zs, Z_NO_FLUSH);
    size_t produced = room - zs->avail_out;
    sink_keep(s, room, produced);
    if (zrc == Z_STREAM_END) return SL_AGAIN;
    if (zrc != Z_OK && zrc != Z_BUF_ERROR) return SL_E_CORRUPT;
    /* Z_BUF_ERROR or no progress with room to write: the input ran out mid-stream */
    if (produced == 0 && zs->avail_in == in_before) return SL_E_CORRUPT;
    return SL_OK;
}

static int gzip_decompress(const uint8_t *in, size_t len, sink *s) {
    if (len == 0) return SL_E_CORRUPT;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, GZIP_WINDOW_BITS) != Z_OK) return SL_E_INTERNAL;
    zs.next_in = in;
    zs.avail_in = (uInt)len; /* len ≤ COMPRESS_INPUT_MAX < UINT_MAX */
    int rc = SL_E_CORRUPT;
    /* every pass consumes input or produces output (gzip_step), so this bound holds */
    for (size_t pass = 0; pass <= len + s->limit; pass++) {
        rc = gzip_step(&zs, s);
        if (rc < 0) break;
        if (rc == SL_AGAIN) {
            rc = SL_OK;
            if (zs.avail_in == 0) break;
            /* another gzip member follows (Java's GZIPInputStream reads them too) */
            if (inflateReset(&zs) != Z_OK) {
                rc = SL_E_INTERNAL;
                break;
            }
        }
    }
    inflateEnd(&zs);
    return rc;
}

/* ---------------- snappy ---------------- */

static int snappy_raw_decompress(const uint8_t *in, size_t len, sink *s) {
    size_t ulen = 0;
    if (snappy_uncompressed_length((const char *)in, len, &ulen) != SNAPPY_OK) {
        return SL_E_CORRUPT;
    }
    /* A snappy element expands at most 64/3 times (a 3-byte copy of 64 bytes), so a
     * larger claim is corrupt: a few forged bytes cannot reserve a big buffer. */
    if (ulen / SNAPPY_RATIO_MAX > len) return SL_E_CORRUPT;
    SL_TRY(sink_expect(s, ulen, ulen));
    char empty[1];
    char *dst = ulen ? (char *)sl_buf_reserve(s->out, ulen) : empty;
    size_t got = ulen;
    if (snappy_uncompress((const char *)in, len, dst, &got) != SNAPPY_OK || got != ulen) {
        sl_buf_truncate(s->out, s->out->len - ulen);
        return SL_E_CORRUPT;
    }
    return SL_OK;
}

static int snappy_xerial_decompress(const uint8_t *in, size_t len, sink *s) {
    size_t pos = XERIAL_HEADER_BYTES;
    /* each pass advances pos by at least 5 bytes */
    for (size_t pass = 0; pass <= len; pass++) {
        if (pos == len) return SL_OK;
        size_t left = len - pos;
        /* snappy-java reads concatenated streams; a chunk length never starts with 0x82 */
        if (left >= XERIAL_HEADER_BYTES && memcmp(in + pos, xerial_magic, 8) == 0) {
            pos += XERIAL_HEADER_BYTES;
            continue;
        }
        if (left < 4) return SL_E_CORRUPT;
        uint32_t chunk = sl_load_be32(in + pos);
        pos += 4;
        if (chunk == 0 || chunk > INT32_MAX || chunk > len - pos) return SL_E_CORRUPT;
        SL_TRY(snappy_raw_decompress(in + pos, chunk, s));
        pos += chunk;
    }
    return SL_E_CORRUPT;
}

static int snappy_decompress_any(const uint8_t *in, size_t len, sink *s) {
    if (len >= XERIAL_HEADER_BYTES && memcmp(in, xerial_magic, sizeof(xerial_magic)) == 0) {
        return snappy_xerial_decompress(in, len, s);
    }
    return snappy_raw_decompress(in, len, s);
}

static int snappy_xerial_compress(const uint8_t *in, size_t len, sl_buf *out) {
    sl_buf_put(out, xerial_magic, sizeof(xerial_magic));
    sl_buf_put_i32(out, XERIAL_VERSION);
    sl_buf_put_i32(out, XERIAL_COMPAT);
    for (size_t off = 0; off < len; off += XERIAL_BLOCK_BYTES) {
        size_t n = len - off < XERIAL_BLOCK_BYTES ? len - off : XERIAL_BLOCK_BYTES;
        size_t max = snappy_max_compressed_length(n);
        size_t slot = out->len;
        uint8_t *dst = sl_buf_reserve(out, 4 + max);
        size_t clen = max;
        snappy_status st = snappy_compress((const char *)in + off, n, (char *)dst + 4, &clen);
        if (SL_NEVER(st != SNAPPY_OK)) return SL_E_INTERNAL;
        sl_store_be32(dst, (uint32_t)clen);
        sl_buf_truncate(out, slot + 4 + clen);
    }
    return SL_OK;
}

/* ---------------- lz4 ---------------- */

static int lz4_compress(const uint8_t *in, size_t len, sl_buf *out) {
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
    prefs.compressionLevel = 0;
    size_t bound = LZ4F_compressFrameBound(len, &prefs);
    size_t start = out->len;
    uint8_t *dst = sl_buf_reserve(out, bound);
    size_t n = LZ4F_compressFrame(dst, bound, in, len, &prefs);
    if (SL_NEVER(LZ4F_isError(n))) {
        sl_buf_truncate(out, start);
        return SL_E_INTERNAL;
    }
    sl_buf_truncate(out, start + n);
    return SL_OK;
}

/* Read the first frame's header; a declared content size is checked against the cap. */
static int lz4_frame_expect(LZ4F_dctx *dctx, const uint8_t *in, size_t len, size_t *pos, sink *s) {
    LZ4F_frameInfo_t info;
    memset(&info, 0, sizeof(info));
    size_t hlen = len;
    size_t r = LZ4F_getFrameInfo(dctx, &info, in, &hlen);
    if (LZ4F_isError(r)) return SL_E_CORRUPT;
    *pos = hlen;
    if (info.frameType == LZ4F_frame) {
        SL_TRY(sink_expect(s, info.contentSize, len * HINT_RATIO_MAX));
    }
    return SL_OK;
}

static int lz4_decompress_frames(LZ4F_dctx *dctx, const uint8_t *in, size_t len, sink *s) {
    size_t pos = 0;
    SL_TRY(lz4_frame_expect(dctx, in, len, &pos, s));
    for (size_t pass = 0; pass <= len + s->limit; pass++) {
        uint8_t *dst;
        size_t room = sink_take(s, &dst);
        if (room == 0) return SL_E_TOO_LARGE;
        size_t produced = room, consumed = len - pos;
        size_t r = LZ4F_decompress(dctx, dst, &produced, in + pos, &consumed, NULL);
        sink_keep(s, room, LZ4F_isError(r) ? 0 : produced);
        if (LZ4F_isError(r)) return SL_E_CORRUPT;
        pos += consumed;
        if (r == 0 && pos == len) return SL_OK;
        if (r == 0) continue; /* a frame ended and another follows */
        /* the frame wants more input, but there is none and nothing is buffered */
        if (pos == len && produced < room) return SL_E_CORRUPT;
        if (consumed == 0 && produced == 0) return SL_E_CORRUPT;
    }
    return SL_E_CORRUPT;
}

static int lz4_decompress(const uint8_t *in, size_t len, sink *s) {
    LZ4F_dctx *dctx = NULL;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) {
        return SL_E_INTERNAL;
    }
    int rc = lz4_decompress_frames(dctx, in, len, s);
    LZ4F_freeDecompressionContext(dctx);
    return rc;
}

/* ---------------- zstd ---------------- */

static int zstd_compress(const uint8_t *in, size_t len, sl_buf *out) {
    size_t bound = ZSTD_compressBound(len);
    size_t start = out->len;
    uint8_t *dst = sl_buf_reserve(out, bound);
    size_t n = ZSTD_compress(dst, bound, in, len, ZSTD_LEVEL);
    if (SL_NEVER(ZSTD_isError(n))) {
        sl_buf_truncate(out, start);
        return SL_E_INTERNAL;
    }
    sl_buf_truncate(out, start + n);
    return SL_OK;
}

static int zstd_decompress_frames(ZSTD_DCtx *dctx, const uint8_t *in, size_t len, sink *s) {
    ZSTD_inBuffer ib = { in, len, 0 };
    for (size_t pass = 0; pass <= len + s->limit; pass++) {
        uint8_t *dst;
        size_t room = sink_take(s, &dst);
        if (room == 0) return SL_E_TOO_LARGE;
        ZSTD_outBuffer ob = { dst, room, 0 };
        size_t in_before = ib.pos;
        size_t r = ZSTD_decompressStream(dctx, &ob, &ib);
        sink_keep(s, room, ob.pos);
        if (ZSTD_isError(r)) return SL_E_CORRUPT;
        if (r == 0 && ib.pos == ib.size) return SL_OK;
        if (r == 0) continue; /* a frame ended and another follows */
        /* more input wanted, none left, and the output was not what stopped it */
        if (ib.pos == ib.size && ob.pos < ob.size) return SL_E_CORRUPT;
        if (ib.pos == in_before && ob.pos == 0) return SL_E_CORRUPT;
    }
    return SL_E_CORRUPT;
}

/* One frame with its content size, decoded straight into the output: no window buffers,
 * which the streaming path would allocate for every call. */
static int
zstd_decompress_single(ZSTD_DCtx *dctx, const uint8_t *in, size_t len, size_t size, sink *s) {
    char empty[1];
    void *dst = size ? (void *)sl_buf_reserve(s->out, size) : empty;
    size_t n = ZSTD_decompressDCtx(dctx, dst, size, in, len);
    if (!ZSTD_isError(n) && n == size) return SL_OK;
    if (size) sl_buf_truncate(s->out, s->out->len - size);
    return SL_E_CORRUPT;
}

static int zstd_decompress(const uint8_t *in, size_t len, sink *s) {
    unsigned long long declared = ZSTD_getFrameContentSize(in, len);
    if (declared == ZSTD_CONTENTSIZE_ERROR) return SL_E_CORRUPT;
    bool single = false;
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN) {
        SL_TRY(sink_expect(s, declared, len * HINT_RATIO_MAX));
        /* the size is within the cap; a claim of more than the hint stays on the capped
         * streaming path, so a few forged bytes cannot reserve a big buffer */
        single = declared <= len * HINT_RATIO_MAX && ZSTD_findFrameCompressedSize(in, len) == len;
    }
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    SL_ASSERT(dctx != NULL); /* allocation failure: see sl_alloc.h */
    /* Windows up to zstd's default limit (2^27): Java producers at high levels stream
     * frames whose window exceeds their content, so a smaller limit would refuse them. */
    int rc = single ? zstd_decompress_single(dctx, in, len, (size_t)declared, s)
                    : zstd_decompress_frames(dctx, in, len, s);
    ZSTD_freeDCtx(dctx);
    return rc;
}

/* ---------------- dispatch ---------------- */

int protocol_compress(int codec, const uint8_t *in, size_t len, sl_buf *out) {
    if (codec < PROTOCOL_CODEC_NONE || codec > PROTOCOL_CODEC_ZSTD) return SL_E_UNSUPPORTED;
    if (len > COMPRESS_INPUT_MAX) return SL_E_TOO_LARGE;
    size_t start = out->len;
    int rc = SL_OK;
    switch (codec) {
    case PROTOCOL_CODEC_NONE:
        sl_buf_put(out, in, len);
        break;
    case PROTOCOL_CODEC_GZIP:
        rc = gzip_compress(in, len, out);
        break;
    case PROTOCOL_CODEC_SNAPPY:
        rc = snappy_xerial_compress(in, len, out);
        break;
    case PROTOCOL_CODEC_LZ4:
        rc = lz4_compress(in, len, out);
        break;
    case PROTOCOL_CODEC_ZSTD:
        rc = zstd_compress(in, len, out);
        break;
    }
    if (rc != SL_OK) sl_buf_truncate(out, start);
    return rc;
}

int protocol_decompress(int codec, const uint8_t *in, size_t len, size_t max_out, sl_buf *out) {
    if (codec < PROTOCOL_CODEC_NONE || codec > PROTOCOL_CODEC_ZSTD) return SL_E_UNSUPPORTED;
    if (len > COMPRESS_INPUT_MAX) return SL_E_TOO_LARGE;
    /* keep limit + the buffer's length far below sl_buf's SIZE_MAX / 2 bound */
    size_t cap = max_out < SIZE_MAX / 8 ? max_out : SIZE_MAX / 8;
    sink s = { out, out->len, cap + 1 };
    int rc = SL_OK;
    switch (codec) {
    case PROTOCOL_CODEC_NONE:
        rc = len > cap ? SL_E_TOO_LARGE : SL_OK;
        if (rc == SL_OK) sl_buf_put(out, in, len);
        break;
    case PROTOCOL_CODEC_GZIP:
        rc = gzip_decompress(in, len, &s);
        break;
    case PROTOCOL_CODEC_SNAPPY:
        rc = snappy_decompress_any(in, len, &s);
        break;
    case PROTOCOL_CODEC_LZ4:
        rc = lz4_decompress(in, len, &s);
        break;
    case PROTOCOL_CODEC_ZSTD:
        rc = zstd_decompress(in, len, &s);
        break;
    }
    if (rc == SL_OK && sink_used(&s) > cap) rc = SL_E_TOO_LARGE;
    if (rc != SL_OK) sl_buf_truncate(out, s.start);
    return rc;
}

static const char *const codec_names[] = { "none", "gzip", "snappy", "lz4", "zstd" };

const char *protocol_codec_name(int codec) {
    if (codec < PROTOCOL_CODEC_NONE || codec > PROTOCOL_CODEC_ZSTD) return "unknown";
    return codec_names[codec];
}

int protocol_codec_from_name(const char *name) {
    if (!name) return SL_E_INVALID;
    for (int codec = PROTOCOL_CODEC_NONE; codec <= PROTOCOL_CODEC_ZSTD; codec++) {
        if (strcmp(name, codec_names[codec]) == 0) return codec;
    }
    return SL_E_INVALID;
}
