/*
 * fuzz/fuzz_heap.c: the libFuzzer target for the raw heap.  The input is a
 * sequence of malloc / free / realloc / calloc / aligned_alloc operations
 * (format in fuzz/heap_ops.h); contents are checked throughout and the heap
 * is checked at the end.  Build with clang (fuzz/CMakeLists.txt); with gcc,
 * fuzz/driver.c supplies a main that runs files or seeded random inputs.
 */
#include <stddef.h>
#include <stdint.h>

#include "heap_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return heap_ops_run(data, size);
}
