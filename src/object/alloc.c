/*
 * object/alloc.c: creating objects (om_new, om_new_var), the per-runtime
 * free lists, and the buffers objects own (ob_mem_*).
 *
 * STRATEGY
 *
 * An object is one block of its runtime's private heap (rt->heap).  om_new
 * asks the heap for basicsize bytes (basicsize + n * itemsize for om_new_var),
 * writes the 16-byte header and zero-fills the rest, so a type's dealloc and
 * traverse may always run on a fresh object.  What an object owns besides its
 * block (a list's item array, a dict's table) comes from a second private heap
 * (rt->mem, through ob_mem_*): the object heap then holds objects and nothing
 * else, which is what lets the collector and the census walk it.
 *
 *     rt->heap:  [hdr|body] [hdr|body] [free-list block] [hdr|body] ...
 *     rt->mem:   [item array] [dict table] [weakref table] ...
 *
 * FREE LISTS (Python's per-type free lists, made generic).  A type with
 * OM_TYPE_FREELIST gives its freed blocks of 32..OM_FREELIST_MAX_SIZE bytes
 * to a bounded stack per 16-byte size class instead of the heap; om_new pops
 * from it first.  A parked block stays a live heap block, so it is marked:
 *
 *     offset 0   ob_type = &ob_freelist_type   (walks skip it: ob_is_object)
 *     offset 8   ob_refcnt = 0, ob_gc = OB_FREED_GC (a stray decref is caught)
 *     offset 16  the next parked block of the class
 *
 * 16-byte blocks are never parked: they have no room for the link, and are
 * cheap for the heap anyway.  Parked blocks are not live objects: not
 * counted as allocated, not seen by the census or the collector; the heap
 * counts them in use (its statistics, usage and walks see live blocks).
 * A class keeps OB_FREELIST_MAX_BYTES of blocks at most (256 KiB: 8192
 * blocks of 32 bytes); a full collection and om_runtime_clear_freelists
 * give them all back.
 *
 * KEPT BLOCKS (tcache's idea, in front of the heap).  A fixed-size untracked
 * type of 17..128 bytes without the flag keeps its blocks there too, as
 * long as no mode of the heap but exact tracing's ids is on and the block
 * is a plain pool's
 * (hp_heap_can_keep: never a debug or sampled block, which the heap must
 * see freed); om_new takes them back only while no mode is on
 * (hp_heap_quiet: the hooks, the debug heap and fault injection see every
 * allocation), or while exact tracing's ids are the only mode
 * (hp_heap_ids_only): then the heap drops a block's id as it is kept and
 * writes the new one as it is handed out again (hp_heap_ids_try_drop,
 * hp_heap_ids_try_take: inline, the thread's site cache and counts, as
 * the heap's id lanes do), so a traced run keeps its blocks as an
 * untraced one does, and pays the id work alone (`bench_trace_alloc_om 12
 * exact 1`, traced phase: 187.8 M -> 176.8 M instructions against the
 * heap's lanes).  Such a block holds a whole granule, so it needs no rounded
 * request.  Measured per 32-byte node when every block comes back (callgrind,
 * `bench_objtrees_om 10`): om_new 54 -> 32.7 instructions (no countdown,
 * live bit or counters of the heap's pop), om_object_release 84 -> 76 (the
 * push's owner compare, live bit and counters, less the tests of the size,
 * the pool's kind, the mode and the bound).
 * A block taken from a free list (kept or a type's own) is counted down
 * the heap's sampling countdown as the heap's pop counts its blocks
 * (hp_heap_charge, 5 instructions: `bench_objtrees_om 14` 544.4 M ->
 * 557.5 M): when a sample is due the allocation takes the heap's way, so
 * sampling sees objects served from the lists at the same rate as any
 * other block (before, it never saw them).
 * GC types do not keep theirs: a recycled tracked block would have to mark
 * its pool dirty, and young collections then walk more pools (measured:
 * obj_trees_gc 10% more instructions).
 *
 * A free-list type's objects get their request rounded up to 16 bytes
 * (ob_freelist_request), so every block of a fixed-size type fits class
 * (basicsize - 1) / 16 whatever the heap (the debug heap's usable size is the
 * request): release parks it without asking the heap its size, inline.  A
 * recycled block of a GC type marks its pool dirty (hp_heap_touch), where
 * young collections look for young tracked objects; an untracked one does
 * not need to, so its pop is a leaf like the heap's.
 *
 * FAST PATH (alloc_object).  om_new is a leaf: no call but tail calls, so no
 * frame.  It branches on NULL arguments, once for the tracer's hook
 * (alloc_general) and once for GC and free-list types (alloc_tracked, the
 * same path with the collector's count and a possible collection, or the
 * free list); then the free list of the size's class while no mode is on,
 * else (alloc_heap, which turns bad sizes away) the heap's pop without its
 * slow call (hp_heap_try_alloc; a miss goes to the slow path), the header, one
 * counter (allocated; live objects are allocated - released), and the body
 * zeroed up to its 16-byte granule: a popped block is a plain pool's (a
 * mode of the heap makes the pop miss), whose blocks are whole granules, so
 * a body of 1..16 bytes takes one 16-byte store and one of 17..32 two.
 * Bigger bodies are zeroed by memset in zero_big, reached by a tail call.
 *
 *     om_new -> [hook?] -> [GC or free list?] -> [kept block?] -> header,
 *                 |              |                    |  no        count, zero
 *                 v              v                    v
 *           alloc_general  alloc_tracked   alloc_heap: pop -> header, ...
 *                                                       \-> heap's slow path
 *
 * A mode of the heap on (17..128 bytes): alloc_traced, the kept block and
 * its id under exact tracing alone, else alloc_moded, straight to the
 * heap's slow path (every mode makes the inline pop miss: no pop, no
 * alloc_heap hop).
 *
 * NUMBERS.  Header: 16 bytes for every object.  An int or float: 24 bytes,
 * a 32-byte block.  Free lists: OB_FREELIST_MAX_BYTES per class, 7 classes
 * (32..128).  Instructions of om_new per object (callgrind, 32-byte
 * untracked nodes of `bench_objtrees_om`): 32.7 at depth 10, where every
 * block comes back from the free list (54 through the heap's pop, 74
 * before the second speed pass); 38.5 at depth 14, where trees of more
 * than 8192 nodes take the heap's pop for the rest.
 */
#include <errno.h>
#include <string.h>

#include "object/private.h"

_Static_assert(sizeof(om_object) == 16, "the object header is 16 bytes");
_Static_assert(OM_FREELIST_MAX_SIZE % 16 == 0 && OM_FREELIST_MAX_SIZE <= 512,
               "free-list classes are the heap's 16-byte small classes");

const om_type ob_freelist_type = {.name = "<free>", .basicsize = sizeof(om_object)};

/* ---- free lists ------------------------------------------------------------ */

static om_object **parked_link(om_object *o)
{
    return (om_object **)(void *)((char *)o + sizeof(om_object));
}

static inline om_object *freelist_pop(om_runtime *rt, size_t size)
{
    ob_freelist *fl = ob_freelist_of(rt, size);
    om_object *o = fl->head;
    if (o) {
        om_assert_internal(o->ob_type == &ob_freelist_type);
        fl->head = *parked_link(o);
        fl->count--;
    }
    return o;
}

/* freelist_pop counted down the heap's sampling countdown (hp_heap_charge):
 * NULL, the block left waiting, when a sample is due, so that the heap's
 * way takes the allocation and sampling sees objects served from the free
 * lists at their rate. */
static inline __attribute__((always_inline)) om_object *freelist_pop_counted(om_runtime *rt,
                                                                             size_t size)
{
    ob_freelist *fl = ob_freelist_of(rt, size);
    om_object *o = fl->head;
    if (!o || OM_UNLIKELY(!hp_heap_charge(rt->heap, size)))
        return NULL;
    om_assert_internal(o->ob_type == &ob_freelist_type);
    fl->head = *parked_link(o);
    fl->count--;
    return o;
}

/* Parks the dead object o's block; false when its class is full or the
 * block does not fit a class. */
bool ob_freelist_push(om_runtime *rt, om_object *o)
{
    size_t size = hp_usable_size(o);
    if (size < 32 || size > OM_FREELIST_MAX_SIZE)
        return false;
    /* The largest class the block can serve (a debug block's usable size is
     * its request, not always a multiple of 16); pops take class
     * ob_freelist_class(request). */
    return ob_freelist_park(rt, o, size / 16 - 1);
}

void ob_freelists_clear(om_runtime *rt)
{
    for (size_t c = 0; c < OB_FREELIST_CLASSES; c++) {
        ob_freelist *fl = &rt->freelists[c];
        while (fl->head) {
            om_object *o = fl->head;
            fl->head = *parked_link(o);
            hp_heap_free(rt->heap, o);
        }
        fl->count = 0;
    }
}

OM_API void om_runtime_clear_freelists(om_runtime *rt)
{
    ob_freelists_clear(rt);
}

/* ---- objects ---------------------------------------------------------------- */

size_t om_var_size(const om_type *type, size_t nitems)
{
    size_t items;
    if (__builtin_mul_overflow(nitems, type->itemsize, &items))
        return 0;
    size_t size;
    if (__builtin_add_overflow(type->basicsize, items, &size))
        return 0;
    return size;
}

/* Zero-fills all of o but the header, for bodies of up to 32 bytes (bigger
 * ones: zero_big).  A memset of a variable size is a call, which costs as
 * much as the rest of om_new for the common small objects, and a switch on
 * the size is a jump through a table.  The commonest object, 32 bytes (an
 * int, a float, a pair, a two-slot record), takes one compare and one
 * 16-byte store; other bodies two overlapping stores, chosen by one more
 * compare (the trick of fast memset routines). */
static inline void zero_body(om_object *o, size_t size)
{
    char *body = (char *)o + sizeof(om_object);
    size_t n = size - sizeof(om_object);
    static const char zeros[16];
    if (OM_LIKELY(n == 16)) {
        memcpy(body, zeros, 16);
    } else if (n >= 16) { /* 17..32 bytes */
        memcpy(body, zeros, 16);
        memcpy(body + n - 16, zeros, 16);
    } else if (n >= 8) {
        memcpy(body, zeros, 8);
        memcpy(body + n - 8, zeros, 8);
    } else if (n) {
        memset(body, 0, n); /* 1..7 bytes: types with odd sizes, never hot */
    }
}

/* The body of an object of more than OB_INLINE_ZERO bytes, zeroed by a call
 * that om_new reaches by a tail call (it returns o), so that om_new itself
 * makes no call and needs no frame. */
#define OB_INLINE_ZERO (sizeof(om_object) + 32)
static OM_NOINLINE om_object *zero_big(om_object *o, size_t size)
{
    memset((char *)o + sizeof(om_object), 0, size - sizeof(om_object));
    return o;
}

static void maybe_collect(om_runtime *rt)
{
    if (rt->gc_on_alloc && !rt->release_depth && !rt->tearing_down)
        rt->gc_on_alloc(rt);
}

/* Writes the header and the counters of the fresh block o, and zeroes its
 * body (a tail call for big ones).  One counter: live objects are
 * allocated - released, and released is counted at release. */
static inline om_object *init_object(om_runtime *rt, om_object *o, const om_type *type, size_t size,
                                     uint32_t gc)
{
    o->ob_type = type;
    o->ob_refcnt = 1;
    o->ob_gc = gc; /* OM_TYPE_GC == OM_GC_TRACKED */
    rt->young_count += gc;
    rt->allocated++;
    if (OM_UNLIKELY(size > OB_INLINE_ZERO))
        return zero_big(o, size);
    zero_body(o, size);
    return o;
}

static OM_COLD OM_NOINLINE om_object *out_of_memory(const om_type *type, size_t size)
{
    om_set_error("out of memory: cannot allocate a %s object of %zu bytes", type->name, size);
    errno = ENOMEM;
    return NULL;
}

static OM_COLD OM_NOINLINE om_object *bad_request(om_runtime *rt, const om_type *type, size_t size)
{
    if (!rt || !type)
        om_set_error("om_new: %s is NULL", rt ? "the type" : "the runtime");
    else
        om_set_error("om_new: type %s: size %zu is smaller than the object header",
                     type->name ? type->name : "?", size);
    return NULL;
}

/* A block for an instance of size bytes of a type with a free list: the
 * newest parked block of its class, else a rounded-up one from the heap. */
static inline om_object *alloc_pooled(om_runtime *rt, size_t size, uint32_t gc)
{
    if (OM_UNLIKELY(size <= 16 || size > OM_FREELIST_MAX_SIZE))
        return hp_heap_alloc(rt->heap, size);
    om_object *o = freelist_pop_counted(rt, size);
    if (!o)
        return hp_heap_alloc(rt->heap, ob_freelist_request(size));
    if (gc) /* a young tracked object: where young collections look */
        hp_heap_touch(rt->heap, o);
    return o;
}

/* Everything but the plain case: a bad request, a collection due, the
 * tracer's hook, a type with a free list, an empty pool (the heap's slow
 * path), a mode of the heap. */
static OM_NOINLINE om_object *alloc_general(om_runtime *rt, const om_type *type, size_t size)
{
    if (OM_UNLIKELY(!rt || !type || size < sizeof(om_object)))
        return bad_request(rt, type, size);
    uint32_t gc = type->flags & OM_TYPE_GC;
    if (gc && OM_UNLIKELY(rt->young_count > rt->young_threshold))
        maybe_collect(rt);
    om_object *o = (type->flags & OM_TYPE_FREELIST) ? alloc_pooled(rt, size, gc)
                                                    : hp_heap_alloc(rt->heap, size);
    if (OM_UNLIKELY(!o))
        return out_of_memory(type, size);
    init_object(rt, o, type, size, gc);
    if (OM_UNLIKELY(rt->trace_on_new != NULL))
        rt->trace_on_new(rt, o);
    return o;
}

_Static_assert(OM_TYPE_GC == OM_GC_TRACKED, "a GC type's flag is its objects' tracked bit");

/* The heap's pop, the header, the counters and the body; a missed pop
 * leaves for alloc_general.  gc is a constant where it is inlined (0, or
 * OM_GC_TRACKED for a GC type).  It calls nothing but by tail calls, so
 * its callers are leaves with no frame. */
/* Header, counter and body of the fresh block o, whose bytes up to size
 * rounded to 16 are all its own: a block popped from a plain pool (no debug
 * heap: a mode makes the pop miss) is a whole number of 16-byte granules,
 * and so is a free list's block (ob_freelist_request).  So the body is
 * zeroed up to its granule: one 16-byte store for a body of 1 to 16 bytes
 * (the commonest objects), two for 17 to 32, a tail call beyond. */
static inline __attribute__((always_inline)) om_object *
init_granules(om_runtime *rt, om_object *o, const om_type *type, size_t size, uint32_t gc)
{
    o->ob_type = type;
    o->ob_refcnt = 1;
    o->ob_gc = gc;
    rt->young_count += gc;
    rt->allocated++;
    static const char zeros[16];
    char *body = (char *)o + sizeof(om_object);
    if (OM_LIKELY(size - (sizeof(om_object) + 1) < 16)) {
        memcpy(body, zeros, 16);
        return o;
    }
    if (size <= sizeof(om_object))
        return o;
    if (OM_UNLIKELY(size > sizeof(om_object) + 32))
        return zero_big(o, size);
    memcpy(body, zeros, 16);
    memcpy(body + 16, zeros, 16);
    return o;
}

/* alloc_plain's pop missed (an empty pool, a sample due, a mode of the
 * heap such as the tracer's ids): straight to the heap's slow path, which a
 * second pop would only reach after missing the same way.  Everything
 * alloc_general would check, the caller already has. */
static OM_NOINLINE om_object *alloc_missed(om_runtime *rt, const om_type *type, size_t size,
                                           uint32_t gc)
{
    om_object *o = hp_alloc_slow(rt->heap, size);
    if (OM_UNLIKELY(!o))
        return out_of_memory(type, size);
    init_object(rt, o, type, size, gc);
    return o;
}

static inline __attribute__((always_inline)) om_object *
alloc_plain(om_runtime *rt, const om_type *type, size_t size, uint32_t gc)
{
    om_object *o = hp_heap_try_alloc(rt->heap, size);
    if (OM_UNLIKELY(!o))
        return alloc_missed(rt, type, size, gc);
    return init_granules(rt, o, type, size, gc);
}

/* A recycled block of a GC type: its pool is marked dirty (hp_heap_touch),
 * where young collections look for young tracked objects (an untracked
 * object needs no such mark). */
static OM_NOINLINE om_object *init_recycled_tracked(om_runtime *rt, om_object *o,
                                                    const om_type *type, size_t size)
{
    hp_heap_touch(rt->heap, o);
    return init_granules(rt, o, type, size, OM_GC_TRACKED);
}

/* A type with a free list (int, float, small tuples, ...): the newest
 * parked block of its class, else a block of the heap rounded up to the
 * class (ob_freelist_request).  A leaf for untracked types. */
static OM_NOINLINE om_object *alloc_freelisted(om_runtime *rt, const om_type *type, size_t size)
{
    uint32_t gc = type->flags & OM_TYPE_GC;
    if (OM_UNLIKELY((size <= 16) | (size > OM_FREELIST_MAX_SIZE)))
        return alloc_general(rt, type, size);
    if (gc && OM_UNLIKELY(rt->young_count > rt->young_threshold))
        return alloc_general(rt, type, size);
    om_object *o = freelist_pop_counted(rt, size);
    if (!o)
        return alloc_plain(rt, type, ob_freelist_request(size), gc);
    if (gc)
        return init_recycled_tracked(rt, o, type, size);
    return init_granules(rt, o, type, size, 0);
}

/* A GC type (a collection may be due) or a type with a free list; a leaf
 * for the first. */
static OM_NOINLINE om_object *alloc_tracked(om_runtime *rt, const om_type *type, size_t size)
{
    if (OM_UNLIKELY(size < sizeof(om_object)))
        return alloc_general(rt, type, size);
    if (OM_UNLIKELY(type->flags & OM_TYPE_FREELIST))
        return alloc_freelisted(rt, type, size);
    if (OM_UNLIKELY(rt->young_count > rt->young_threshold))
        return alloc_general(rt, type, size);
    return alloc_plain(rt, type, size, OM_GC_TRACKED);
}

/* A plain object that its free list did not serve: a bad size, or a block
 * from the heap. */
static OM_NOINLINE om_object *alloc_heap(om_runtime *rt, const om_type *type, size_t size)
{
    if (OM_UNLIKELY(size < sizeof(om_object)))
        return alloc_general(rt, type, size);
    return alloc_plain(rt, type, size, 0);
}

/* A plain object of 17..OM_FREELIST_MAX_SIZE bytes while a mode of the
 * heap is on and no kept block serves it (alloc_traced): every mode makes
 * the heap's pop miss, so straight to its slow path, without the pop and
 * alloc_heap's hop (with release's own shortcut to the lane, exact
 * tracing's traced phase of `bench_trace_alloc_om 12 exact 1` went from
 * 204.9 M to 187.8 M instructions, 26 a node).  Three values live across
 * the call (rt, type, size): a frame of three registers. */
static OM_NOINLINE om_object *alloc_moded(om_runtime *rt, const om_type *type, size_t size)
{
    om_object *o = hp_alloc_slow(rt->heap, size);
    if (OM_UNLIKELY(!o))
        return out_of_memory(type, size);
    return init_object(rt, o, type, size, 0);
}

/* alloc_traced's kept block when the heap's inline id work could not
 * serve it (the hooks' way). */
static OM_NOINLINE om_object *alloc_traced_rare(om_runtime *rt, om_object *o, const om_type *type,
                                                size_t size, void *caller)
{
    hp_heap_ids_take_rare(rt->heap, o, caller);
    return init_granules(rt, o, type, size, 0);
}

/* A plain object of 17..OM_FREELIST_MAX_SIZE bytes while a mode is on.
 * Exact tracing alone (hp_heap_ids_only): the newest kept block of the
 * class, as with no mode, with its id written beside it by the heap's
 * inline id work (release keeps blocks under this mode too, dropping
 * their ids); else, or with an empty list, alloc_moded.  No frame. */
static OM_NOINLINE om_object *alloc_traced(om_runtime *rt, const om_type *type, size_t size)
{
    if (OM_UNLIKELY(!hp_heap_ids_only()))
        return alloc_moded(rt, type, size);
    om_object *o = freelist_pop(rt, size);
    if (OM_UNLIKELY(!o))
        return alloc_moded(rt, type, size);
    void *caller = __builtin_return_address(0); /* om_new's caller: om_new jumps here */
    if (OM_UNLIKELY(!hp_heap_ids_try_take(rt->heap, o, caller)))
        return alloc_traced_rare(rt, o, type, size, caller);
    return init_granules(rt, o, type, size, 0);
}

/* The fast path (rt and type were checked by the caller): one branch for
 * the tracer's hook, one that sends GC and free-list types to
 * alloc_tracked; then a plain object of 17..OM_FREELIST_MAX_SIZE bytes
 * takes the newest block of its free list when one waits and no mode of
 * the heap is on (the hooks must see each allocation), else the heap's
 * pop (alloc_heap, which also turns bad sizes away).  No call and no
 * frame: every other way out is a tail call. */
static inline om_object *alloc_object(om_runtime *rt, const om_type *type, size_t size)
{
    if (OM_UNLIKELY(rt->trace_on_new != NULL))
        return alloc_general(rt, type, size);
    if (OM_UNLIKELY(type->flags & (OM_TYPE_GC | OM_TYPE_FREELIST)))
        return alloc_tracked(rt, type, size);
    if (OM_LIKELY(size - 17 < OM_FREELIST_MAX_SIZE - 16)) {
        if (OM_UNLIKELY(!hp_heap_quiet()))
            return alloc_traced(rt, type, size); /* the heap's pop would miss */
        om_object *o = freelist_pop_counted(rt, size);
        if (OM_LIKELY(o != NULL))
            return init_granules(rt, o, type, size, 0);
    }
    return alloc_heap(rt, type, size);
}

om_object *om_new(om_runtime *rt, const om_type *type)
{
    if (OM_UNLIKELY(!rt || !type))
        return alloc_general(rt, type, 0);
    return alloc_object(rt, type, type->basicsize);
}

om_object *om_new_var(om_runtime *rt, const om_type *type, size_t nitems)
{
    if (OM_UNLIKELY(!rt || !type))
        return alloc_general(rt, type, 0);
    size_t size = om_var_size(type, nitems);
    if (size == 0) {
        om_set_error("out of memory: a %s of %zu items is too large", type->name, nitems);
        errno = ENOMEM;
        return NULL;
    }
    return alloc_object(rt, type, size);
}

/* ---- buffers owned by objects ------------------------------------------------ */

void *ob_mem_alloc(om_runtime *rt, size_t size)
{
    return hp_heap_alloc(rt->mem, size);
}

void *ob_mem_calloc(om_runtime *rt, size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        om_set_error("out of memory: %zu x %zu bytes overflows", count, size);
        errno = ENOMEM;
        return NULL;
    }
    return hp_heap_calloc(rt->mem, total);
}

void *ob_mem_realloc(om_runtime *rt, void *p, size_t size)
{
    return hp_heap_realloc(rt->mem, p, size);
}

void ob_mem_free(om_runtime *rt, void *p)
{
    if (p)
        hp_heap_free(rt->mem, p);
}
