/* sl_rand.h — a small seeded PRNG (xoshiro256**), for simulation, jitter and ids.
 * Deterministic for a given seed; one sl_rand per owner, not thread-safe.
 * Not for cryptography (use OpenSSL's RAND_bytes for secrets). */
#ifndef SL_RAND_H
#define SL_RAND_H

#include <stdint.h>

typedef struct sl_rand {
    uint64_t s[4];
} sl_rand;

void sl_rand_seed(sl_rand *rng, uint64_t seed);
uint64_t sl_rand_u64(sl_rand *rng);
/* Uniform in [0, bound); bound > 0. */
uint64_t sl_rand_below(sl_rand *rng, uint64_t bound);
/* Uniform in [lo, hi] inclusive. */
int64_t sl_rand_range(sl_rand *rng, int64_t lo, int64_t hi);
/* True with probability num/den. */
int sl_rand_chance(sl_rand *rng, uint32_t num, uint32_t den);
/* A seed from the OS (getrandom), for non-deterministic uses. */
uint64_t sl_rand_os_seed(void);

#endif
