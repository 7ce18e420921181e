/* replay_main.c — runs a libFuzzer target's LLVMFuzzerTestOneInput over files, without
 * libFuzzer, so `make test` replays the corpora with the normal compiler (and under
 * ASan/UBSan in `make asan`).
 *
 *   replay_<target> [PATH...] [--rejected PATH...]
 *
 * Each PATH is a file or a directory (read recursively, in name order; dot files are
 * skipped; a missing PATH is reported and skipped). Inputs after --rejected must be
 * refused: when the target defines fuzz_target_accepts() (1 = the decoder accepts the
 * input), each of them must return 0 — the zstd "golden-decompression-errors" idea.
 * A crash, a sanitizer report, or an accepted "rejected" input fails the run. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target: 1 when its decoder accepts the input, else 0. */
int fuzz_target_accepts(const uint8_t *data, size_t size) __attribute__((weak));

#define REPLAY_DEPTH_MAX   8           /* directory nesting followed */
#define REPLAY_INPUT_MAX   (64u << 20) /* bigger files are skipped: not fuzz inputs */
#define REPLAY_ENTRIES_MAX 100000      /* per directory */

typedef struct replay {
    size_t inputs;   /* files run */
    size_t rejected; /* of which were refused as expected */
    size_t failures; /* "rejected" inputs the target accepted, unreadable files */
} replay;

static int read_file(const char *path, uint8_t **data_out, size_t *size_out) {
    FILE *f = fopen(path, "rb");
    if (!f) return -errno;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || st.st_size > REPLAY_INPUT_MAX) {
        fclose(f);
        return -EFBIG;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *data = malloc(size ? size : 1);
    size_t got = fread(data, 1, size, f);
    fclose(f);
    if (got != size) {
        free(data);
        return -EIO;
    }
    *data_out = data;
    *size_out = size;
    return 0;
}

static void replay_file(replay *rp, const char *path, int must_reject) {
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = read_file(path, &data, &size);
    if (rc != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(-rc));
        rp->failures++;
        return;
    }
    LLVMFuzzerTestOneInput(data, size);
    rp->inputs++;
    if (must_reject && fuzz_target_accepts) {
        if (fuzz_target_accepts(data, size)) {
            fprintf(stderr, "replay: %s: accepted, but it is kept as a rejected input\n", path);
            rp->failures++;
        } else {
            rp->rejected++;
        }
    }
    free(data);
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replay_path(replay *rp, const char *path, int must_reject, int depth);

static void replay_dir(replay *rp, const char *path, int must_reject, int depth) {
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        rp->failures++;
        return;
    }
    char **names = NULL;
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL && count < REPLAY_ENTRIES_MAX) {
        if (de->d_name[0] == '.') continue;
        names = realloc(names, (count + 1) * sizeof(*names));
        names[count++] = strdup(de->d_name);
    }
    closedir(dir);
    if (count) qsort(names, count, sizeof(*names), compare_names);
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(path) + strlen(names[i]) + 2;
        char *child = malloc(len);
        snprintf(child, len, "%s/%s", path, names[i]);
        replay_path(rp, child, must_reject, depth + 1);
        free(child);
        free(names[i]);
    }
    free(names);
}

static void replay_path(replay *rp, const char *path, int must_reject, int depth) {
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s (skipped)\n", path, strerror(errno));
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        if (depth < REPLAY_DEPTH_MAX) replay_dir(rp, path, must_reject, depth);
        return;
    }
    if (S_ISREG(st.st_mode)) replay_file(rp, path, must_reject);
}

int main(int argc, char **argv) {
    replay rp = { 0, 0, 0 };
    int must_reject = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rejected") == 0) {
            must_reject = 1;
            continue;
        }
        replay_path(&rp, argv[i], must_reject, 0);
    }
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    printf("%s: %zu inputs replayed, %zu refused as expected, %zu failures\n", name, rp.inputs,
           rp.rejected, rp.failures);
    return rp.failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
