/* cli/demo_heap.c: the heap section of `objmem demo` (placeholder until the heap lands). */
#include "demo.h"

int demo_heap(const demo_options *opt)
{
    (void)opt;
    return 0;
}
