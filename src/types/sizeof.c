/*
 * types/sizeof.c: sys.getsizeof.
 *
 * What an object costs is what the heap spent on it: the usable size of its
 * own block (the request rounded up to the heap's 16-byte classes, so a
 * 24-byte tuple of one item costs 32) plus the blocks it owns outside,
 * through its type's size_of hook (a list's item buffer, a dict's table),
 * measured the same way.  Objects it refers to are not counted, as in
 * Python; a deep size is the inspect layer's business.
 *
 *     getsizeof(list of 3) = usable(list block) + usable(item buffer)
 *                          =        48          +        32
 *
 * Tests check the figure against the heaps' own counters: allocating an
 * object moves bytes_in_use by exactly its getsizeof (free lists emptied).
 */
#include "types/containers.h"

size_t om_sys_getsizeof(const om_object *o)
{
    if (!o) {
        om_set_error("getsizeof of NULL");
        return 0;
    }
    size_t n = hp_usable_size(o);
    if (o->ob_type->size_of)
        n += o->ob_type->size_of(o);
    return n;
}
