/* A program outside the project that uses the installed library. */
#include <objmem.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    char *s = om_malloc(64);
    if (!s)
        return 1;
    strcpy(s, "installed objmem works");
    om_heap_stats st;
    om_heap_get_stats(&st);
    printf("%s (%s, %zu blocks in use)\n", s, om_version(), st.blocks_in_use);
    om_free(s);
    return st.blocks_in_use >= 1 ? 0 : 1;
}
