/*
 * heap_basics.c: the raw heap.  om_malloc and friends behave like malloc;
 * the heap counts everything and gives free memory back to the OS.
 *
 *   ./build/release/examples/heap_basics
 */
#include <objmem.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    enum { N = 100000 };
    static void *blocks[N];
    for (int i = 0; i < N; i++)
        blocks[i] = om_malloc(16 + (size_t)(i % 32) * 16);

    om_heap_stats st;
    om_heap_get_stats(&st);
    printf("after %d allocations: %zu blocks, %zu bytes in use, %zu bytes committed\n", N,
           st.blocks_in_use, st.bytes_in_use, st.committed);

    for (int i = 0; i < N; i++)
        om_free(blocks[i]);
    size_t given_back = om_release();
    om_heap_get_stats(&st);
    printf("after freeing them: %zu blocks in use, %zu bytes given back to the OS\n",
           st.blocks_in_use, given_back);

    /* Errors come back as NULL with errno and a message. */
    void *huge = om_malloc((size_t)-1 / 2);
    printf("a huge request: %p (%s)\n", huge, om_error_message());

    char *aligned = om_aligned_alloc(4096, 100);
    printf("aligned to 4096: %s\n", ((uintptr_t)aligned % 4096) == 0 ? "yes" : "no");
    om_free(aligned);
    return 0;
}
