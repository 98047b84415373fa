/*
 * types/hash.c: hashes of the scalar types.
 *
 * NUMBERS hash as Python's do, so that equal values of different types hash
 * alike (hash(1) == hash(1.0) == 1): the hash of a rational value x is
 * x mod P with P = 2**61 - 1, a Mersenne prime, with the sign of x and with
 * -1 replaced by -2 (Python reserves -1 for errors; so do we).  For a double
 * m * 2**e this is (m mod P) * (2**e mod P), and since 2**61 = 1 (mod P),
 * multiplying by 2**e is a rotation of a 61-bit value by e mod 61 bits.
 * (The definition is in the Python documentation, "Hashing of numeric
 * types".)  inf hashes to 314159, -inf to -314159, NaN to 0.
 *
 * BYTES (str, bytes) use a keyed multiply-fold hash: eight bytes at a time,
 * each word xored in and folded through a 64x64->128-bit multiply (the high
 * and low halves xored).  The key is drawn once per process from the OS, so
 * hash values, like Python's, differ between runs and an attacker cannot
 * precompute colliding keys.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "types/types.h"

#define P TY_HASH_MODULUS

static om_hash_t finish_numeric(int64_t h)
{
    return (om_hash_t)(h == -1 ? -2 : h);
}

om_hash_t ty_hash_int64(int64_t v)
{
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    int64_t h = (int64_t)(mag % P);
    return finish_numeric(v < 0 ? -h : h);
}

/* x * 2**e mod P for x < P: a rotation within 61 bits. */
static uint64_t rotate61(uint64_t x, unsigned e)
{
    if (e == 0)
        return x;
    return ((x << e) & P) | (x >> (61 - e));
}

om_hash_t ty_hash_double(double v)
{
    if (isnan(v))
        return 0;
    if (isinf(v))
        return finish_numeric(v > 0 ? 314159 : -314159);
    int e;
    double m = frexp(v, &e); /* v = m * 2**e, 0.5 <= |m| < 1 */
    int sign = m < 0 ? -1 : 1;
    m = fabs(m);
    uint64_t x = 0;
    while (m != 0) { /* take 28 bits of the mantissa at a time */
        x = rotate61(x, 28);
        m *= 268435456.0; /* 2**28 */
        e -= 28;
        uint64_t top = (uint64_t)m;
        m -= (double)top;
        x += top;
        if (x >= P)
            x -= P;
    }
    int r = e % 61; /* 2**e mod P: rotate by e mod 61, also for e < 0 */
    if (r < 0)
        r += 61;
    x = rotate61(x, (unsigned)r);
    return finish_numeric(sign * (int64_t)x);
}

static uint64_t hash_key;
static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;

static void draw_key(void)
{
    hash_key = om_random_seed() | 1;
}

static uint64_t fold(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

om_hash_t ty_hash_bytes(const void *p, size_t n)
{
    const uint64_t k1 = 0xa0761d6478bd642full, k2 = 0xe7037ed1a0b428dbull;
    pthread_once(&hash_key_once, draw_key);
    const unsigned char *s = p;
    uint64_t h = hash_key ^ (n * k2);
    for (; n >= 8; n -= 8, s += 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = fold(h ^ w, k1);
    }
    uint64_t tail = 0;
    memcpy(&tail, s, n);
    h = fold(h ^ tail ^ ((uint64_t)n << 59), k1);
    h = fold(h, k2);
    return h == (om_hash_t)-1 ? (om_hash_t)-2 : h;
}
