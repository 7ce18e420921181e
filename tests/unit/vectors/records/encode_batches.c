/* encode_batches.c — write one batch per codec with sluice's builder, for capture.py's
 * "consume" check (real clients must read what we write). Not part of the build:
 * capture.py compiles it against a build directory's libraries.
 *
 *   encode_batches OUTDIR [header[=value]...] < messages   (lines "key<TAB>value";
 *   an empty key or value is null, as with kcat -Z)
 * writes OUTDIR/sluice_<codec>.bin. */
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MESSAGES_MAX 1000
#define HEADERS_MAX  16

static sl_bytes view(const char *s) {
    return *s ? (sl_bytes){ (const uint8_t *)s, (int32_t)strlen(s) } : SL_BYTES_NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    protocol_record_header headers[HEADERS_MAX];
    int header_count = 0;
    for (int i = 2; i < argc && header_count < HEADERS_MAX; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq) *eq = 0;
        headers[header_count].key = sl_str_c(argv[i]);
        headers[header_count].value =
            eq ? (sl_bytes){ (const uint8_t *)eq + 1, (int32_t)strlen(eq + 1) } : SL_BYTES_NULL;
        header_count++;
    }
    static char lines[MESSAGES_MAX][512];
    int count = 0;
    while (count < MESSAGES_MAX && fgets(lines[count], sizeof(lines[count]), stdin)) {
        lines[count][strcspn(lines[count], "\n")] = 0;
        count++;
    }
    for (int codec = PROTOCOL_CODEC_NONE; codec <= PROTOCOL_CODEC_ZSTD; codec++) {
        protocol_batch_options opt;
        protocol_batch_options_init(&opt);
        opt.codec = codec;
        protocol_batch_builder b;
        protocol_batch_builder_init(&b, &opt);
        for (int i = 0; i < count; i++) {
            char line[512];
            memcpy(line, lines[i], sizeof(line));
            char *tab = strchr(line, '\t');
            if (!tab) return 1;
            *tab = 0;
            if (protocol_batch_builder_add(&b, 1700000000000LL + i, view(line), view(tab + 1),
                                           headers, (size_t)header_count) != SL_OK) {
                return 1;
            }
        }
        sl_buf out;
        sl_buf_init(&out);
        if (protocol_batch_builder_finish(&b, &out) != SL_OK) return 1;
        char path[4096];
        snprintf(path, sizeof(path), "%s/sluice_%s.bin", argv[1], protocol_codec_name(codec));
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0) return 1;
        sl_buf_deinit(&out);
        protocol_batch_builder_deinit(&b);
    }
    return 0;
}
