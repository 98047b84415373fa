/*
 * fuzz/driver.c: a plain main for the fuzz targets, for compilers without
 * libFuzzer.  With file arguments it runs each file as one input (a corpus,
 * or a crash libFuzzer saved); without, it runs seeded random inputs:
 *
 *   fuzz_heap_driver [FILE...]
 *   fuzz_heap_driver -n 5000 -s 42     5000 random inputs from seed 42
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (64 * 1024)

static int run_file(const char *path)
{
    static uint8_t buf[INPUT_MAX];
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    return 0;
}

static uint64_t next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static void run_random(long count, uint64_t seed)
{
    static uint8_t buf[1024];
    uint64_t state = seed ? seed : 1;
    for (long i = 0; i < count; i++) {
        size_t len = 2 + next(&state) % (sizeof buf - 2);
        for (size_t j = 0; j < len; j++)
            buf[j] = (uint8_t)next(&state);
        LLVMFuzzerTestOneInput(buf, len);
    }
}

int main(int argc, char **argv)
{
    long count = 1000;
    uint64_t seed = 1;
    int files = 0, rc = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            count = strtol(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "-s") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 0);
        else {
            rc |= run_file(argv[i]);
            files++;
        }
    }
    if (!files)
        run_random(count, seed);
    printf("fuzz driver: %s\n", rc ? "some files could not be read" : "ok");
    return rc;
}
