#include "common/sl_rand.h"
#include "common/sl_time.h"

#include <sys/random.h>
#include <unistd.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sl_rand_seed(sl_rand *rng, uint64_t seed) {
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

uint64_t sl_rand_u64(sl_rand *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t sl_rand_below(sl_rand *rng, uint64_t bound) {
    if (bound <= 1) return 0;
    uint64_t threshold = -bound % bound; /* reject the biased low range */
    for (;;) {
        uint64_t r = sl_rand_u64(rng);
        if (r >= threshold) return r % bound;
    }
}

int64_t sl_rand_range(sl_rand *rng, int64_t lo, int64_t hi) {
    if (hi <= lo) return lo;
    return lo + (int64_t)sl_rand_below(rng, (uint64_t)(hi - lo) + 1);
}

int sl_rand_chance(sl_rand *rng, uint32_t num, uint32_t den) {
    if (den == 0) return 0;
    return sl_rand_below(rng, den) < num;
}

uint64_t sl_rand_os_seed(void) {
    uint64_t seed;
    if (getrandom(&seed, sizeof(seed), 0) == (ssize_t)sizeof(seed)) return seed;
    return (uint64_t)sl_now_ns() ^ ((uint64_t)getpid() << 32);
}
