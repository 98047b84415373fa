/*
 * objmem/object.h: objects with a header (type + reference count), type
 * descriptors, the runtime, reference counting.
 *
 * Every object starts with an om_object header of 16 bytes, GC-tracked
 * objects included (CPython spends 16, and 32 when tracked):
 *
 *     offset 0   const om_type *ob_type    what the object is
 *     offset 8   uint32_t ob_refcnt        references to it
 *     offset 12  uint32_t ob_gc            flags and collector scratch
 *
 * The collector needs no list links in the header: it finds tracked objects
 * by walking the runtime's private heap (see docs/design.md).
 *
 * A runtime (om_runtime) owns a private heap and every object in it; a
 * program may hold several, each used by one thread at a time, and objects
 * never cross between runtimes.  Reference counting takes only the object:
 * the runtime is found from the object's address in O(1).
 */
#ifndef OBJMEM_OBJECT_H
#define OBJMEM_OBJECT_H

#include "objmem/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct om_runtime om_runtime;
typedef struct om_type om_type;
typedef uint64_t om_hash_t;

typedef struct om_object {
    const om_type *ob_type;
    uint32_t ob_refcnt;
    uint32_t ob_gc; /* OM_GC_* bits below; owned by the object and gc layers */
} om_object;

/* Casts a pointer to a struct that begins with an om_object header. */
#define OM_OBJ(p) ((om_object *)(p))

/* A reference count at or above this value marks an immortal object (the
 * idea of PEP 683): increments and decrements leave it alone.  A count that
 * climbs this high saturates into immortality instead of overflowing. */
#define OM_IMMORTAL_REFCNT 0x80000000u

/* Bits of ob_gc.  The low byte holds flags; the upper 24 bits are the
 * collector's scratch space during a collection (never read outside one). */
#define OM_GC_TRACKED       0x01u /* the collector considers this object */
#define OM_GC_FINALIZED     0x02u /* its finalizer has run (PEP 442: at most once) */
#define OM_GC_WEAKREFS      0x04u /* weak references to it exist */
#define OM_GC_GEN_SHIFT     3     /* bits 3-4: generation 0..2, 3 = frozen */
#define OM_GC_GEN_MASK      0x18u
#define OM_GC_PHASE_MASK    0xe0u /* bits 5-7: reserved for collection phases */
#define OM_GC_SCRATCH_SHIFT 8

/* Called by the collector for each reference an object holds; a non-zero
 * return stops the traversal and is passed back. */
typedef int (*om_visitproc)(om_object *child, void *arg);

/* Type flags. */
#define OM_TYPE_GC 0x01u /* instances can hold references and join cycles */
/* The finalizer is not safe to run on an object in cyclic trash: such
 * objects, and all they reach, go to the collector's `garbage` list
 * (Python's legacy __del__ before PEP 442). */
#define OM_TYPE_LEGACY_FINALIZER 0x02u
#define OM_TYPE_IMMUTABLE        0x04u /* instances never change after creation */
/* Freed instances of up to OM_FREELIST_MAX_SIZE bytes wait on a per-runtime
 * free list of their block size and are reused by om_new (Python's per-type
 * free lists), variable-sized and GC types included, and whatever heap mode
 * is on.  (Fixed-size untracked types of 17..OM_FREELIST_MAX_SIZE bytes get
 * the same without the flag while the heap runs without a mode: no debug
 * heap, tracing hooks or fault injection.)  A full collection and
 * om_runtime_clear_freelists give the blocks back to the heap, whose
 * statistics count them in use until then. */
#define OM_TYPE_FREELIST     0x08u
#define OM_FREELIST_MAX_SIZE 128 /* bytes; a multiple of 16 */

/*
 * A type descriptor.  User code defines its own as a static const value.
 * Hooks that are NULL do nothing.
 */
struct om_type {
    const char *name;
    size_t basicsize; /* bytes of an instance, header included */
    size_t itemsize;  /* bytes per item of a variable-sized instance, else 0 */
    uint32_t flags;   /* OM_TYPE_* */
    /* Releases what the object owns (drops its references, frees its
     * buffers).  The object's own memory is freed by objmem afterwards. */
    void (*dealloc)(om_object *self);
    /* Calls visit on every reference the object holds (GC types). */
    int (*traverse)(om_object *self, om_visitproc visit, void *arg);
    /* Drops the references that may take part in cycles (GC types). */
    int (*clear)(om_object *self);
    /* Runs at most once per object, before it is freed; may resurrect it by
     * storing a new reference somewhere (PEP 442). */
    void (*finalize)(om_object *self);
    /* Bytes the object owns outside its heap block (for getsizeof). */
    size_t (*size_of)(const om_object *self);
    /* Hash, or (om_hash_t)-1 with an error set for unhashable objects. */
    om_hash_t (*hash)(om_object *self);
    /* 1 if equal, 0 if not, -1 on error. */
    int (*equal)(om_object *a, om_object *b);
    /* Writes a short description into buf (like repr), returns its length. */
    size_t (*repr)(om_object *self, char *buf, size_t size);
};

/* ---- the runtime --------------------------------------------------------- */
typedef struct om_config {
    /* Report objects still alive at om_runtime_free on stderr (0 = no). */
    int report_leaks;
    /* Reserved for later options; zero-initialise the whole struct. */
    int reserved[15];
} om_config;

/* config may be NULL for the defaults.  NULL with a message on failure. */
OM_API om_runtime *om_runtime_new(const om_config *config);
/* Releases every object the runtime still holds, finalizers included:
 * a final collection, then the finalizers that have not run yet (once
 * each), then `clear` on every GC object to break cycles, then whatever is
 * left is deallocated and the heap deleted.  With config->report_leaks it
 * first prints om_runtime_print_leaks on stderr. */
OM_API void om_runtime_free(om_runtime *rt);
/* The runtime that owns o, in O(1) from its address. */
OM_API om_runtime *om_runtime_of(const om_object *o);

/* Counters of a runtime's objects, read as a plain record. */
typedef struct om_runtime_stats {
    size_t objects;             /* live objects, immortals included */
    size_t immortals;           /* of which immortal (walks the heap) */
    size_t freelist_blocks;     /* freed blocks waiting on free lists */
    uint64_t allocated;         /* objects ever created */
    uint64_t released;          /* objects ever freed */
    uint64_t deferred;          /* releases put off to keep the C stack flat */
    uint32_t max_release_depth; /* deepest nesting of releases seen */
} om_runtime_stats;
OM_API void om_runtime_get_stats(om_runtime *rt, om_runtime_stats *out);

/* The sum of the reference counts of every live, mortal object (a heap
 * walk).  Tests compare it before and after a piece of work to prove that
 * the work dropped every reference it took. */
OM_API uint64_t om_runtime_total_refcount(om_runtime *rt);

/* Objects still alive that nobody should hold any more (mortal objects; at
 * teardown, after the final collection, these are the leaks), by type. */
#define OM_LEAK_MAX_TYPES 32
typedef struct om_leak_report {
    size_t objects; /* live mortal objects */
    size_t bytes;   /* their heap blocks */
    size_t n_types; /* entries in types[], most objects first */
    struct {
        const char *name;
        size_t count;
        size_t bytes;
    } types[OM_LEAK_MAX_TYPES]; /* types beyond the table are summed in the totals */
} om_leak_report;
/* Fills out and returns out->objects. */
OM_API size_t om_runtime_leak_report(om_runtime *rt, om_leak_report *out);
/* Writes the report, one line per type, to fd; returns the object count. */
OM_API size_t om_runtime_print_leaks(om_runtime *rt, int fd);
/* Walks the runtime's objects and side tables and verifies every invariant
 * of the object layer (counts, free lists, weak reference flags).  Returns
 * the number of live objects; a broken invariant prints one line and
 * aborts.  Linear in the heap: for tests and debugging. */
OM_API size_t om_runtime_check(om_runtime *rt);
/* Gives every block waiting on a free list back to the heap. */
OM_API void om_runtime_clear_freelists(om_runtime *rt);

/* ---- allocation ---------------------------------------------------------- */
/* A new instance, zero-filled past the header, reference count 1, tracked by
 * the collector when the type has OM_TYPE_GC.  NULL with a message on failure. */
OM_API om_object *om_new(om_runtime *rt, const om_type *type);
/* The same for a variable-sized type: basicsize + nitems * itemsize bytes. */
OM_API om_object *om_new_var(om_runtime *rt, const om_type *type, size_t nitems);
/* Bytes om_new_var asks for (basicsize + nitems * itemsize), 0 on overflow. */
OM_API size_t om_var_size(const om_type *type, size_t nitems);

/* ---- the generic object protocol --------------------------------------------
 * Through the type's hooks.  om_hash fails (-1, message) for unhashable
 * objects.  om_equal: an object equals itself (as in Python's containers,
 * even a NaN); otherwise the left operand's `equal` hook decides, else the
 * right one's, else identity. */
OM_API om_hash_t om_hash(om_object *o);
OM_API int om_equal(om_object *a, om_object *b);
/* A short description such as "<list at 0x7f..., 3 items>" or the value of a
 * scalar; returns the length it wanted (like snprintf). */
OM_API size_t om_repr(om_object *o, char *buf, size_t size);
OM_API const char *om_type_name(const om_object *o);
/* True if o is an instance of type (exactly; objmem has no subclassing). */
static inline bool om_type_check(const om_object *o, const om_type *type)
{
    return o->ob_type == type;
}

/* ---- reference counting --------------------------------------------------- */
/* Called when a count reaches zero: finalizes, releases and frees. */
OM_API void om_object_release(om_object *o);
/* Called when a count would go below zero: one line, then abort. */
OM_API void om_refcount_error(om_object *o) __attribute__((noreturn, cold));

static inline void om_incref(om_object *o)
{
    uint32_t n = o->ob_refcnt + 1;
    if (OM_LIKELY(n <= OM_IMMORTAL_REFCNT))
        o->ob_refcnt = n; /* reaching OM_IMMORTAL_REFCNT saturates */
}

static inline void om_decref(om_object *o)
{
    uint32_t n = o->ob_refcnt;
    if (OM_UNLIKELY(n >= OM_IMMORTAL_REFCNT))
        return;
    if (OM_UNLIKELY(n == 0))
        om_refcount_error(o);
    o->ob_refcnt = --n;
    if (n == 0)
        om_object_release(o);
}

static inline void om_xincref(om_object *o)
{
    if (o)
        om_incref(o);
}

static inline void om_xdecref(om_object *o)
{
    if (o)
        om_decref(o);
}

static inline uint32_t om_refcnt(const om_object *o)
{
    return o->ob_refcnt;
}
static inline int om_is_immortal(const om_object *o)
{
    return o->ob_refcnt >= OM_IMMORTAL_REFCNT;
}
/* Makes o immortal: it is never freed (until its runtime is freed), and
 * increments and decrements leave its count alone. */
OM_API void om_make_immortal(om_object *o);

/* Scope-based release: `OM_AUTO om_object *x = om_int_from(rt, 3);` drops
 * the reference when x goes out of scope (x may be NULL). */
static inline void om_decref_cleanup(om_object **p)
{
    om_xdecref(*p);
}
#define OM_AUTO __attribute__((cleanup(om_decref_cleanup)))

#ifdef __cplusplus
}
#endif
#endif
