/*
 * objmem/inspect.h: looking at a runtime's objects, after objgraph and
 * pympler: counts by type, growth, objects of a type, why an object is alive
 * (a chain of references from a root), objects nothing refers to, a Graphviz
 * picture of the references around objects, deep sizes, and the difference
 * between two censuses.
 *
 * Each function walks the runtime's heap (every live object) and follows
 * references through the types' traverse hooks, with explicit queues and
 * visited sets: no recursion, any graph size, cycles included.  None may run
 * from inside a finalizer or a dealloc (it fails with a message then).
 * Lists returned are om lists (new references, see objmem.h); the other
 * results are plain records freed with their *_free function.
 */
#ifndef OBJMEM_INSPECT_H
#define OBJMEM_INSPECT_H

#include <stdio.h>

#include "objmem/common.h"
#include "objmem/object.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reports are written as text for people or JSON for programs. */
#ifndef OM_FORMAT_DEFINED
#define OM_FORMAT_DEFINED
typedef enum om_format { OM_FORMAT_TEXT, OM_FORMAT_JSON } om_format;
#endif

/* ---- counts by type (objgraph.typestats, pympler's summary) ----------------- */
typedef struct om_type_count {
    const char *name; /* the type's name (owned by the record) */
    size_t count;     /* live objects */
    size_t bytes;     /* their heap blocks (om_sys_getsizeof adds owned buffers) */
} om_type_count;

typedef struct om_typestats {
    size_t objects, bytes; /* every live object */
    size_t n;              /* entries in items, most objects first */
    om_type_count *items;
} om_typestats;

/* NULL with a message on failure.  Immortal objects are counted too. */
OM_API om_typestats *om_objgraph_typestats(om_runtime *rt);
/* The same, only the `limit` most common types (objgraph.most_common_types). */
OM_API om_typestats *om_objgraph_most_common_types(om_runtime *rt, size_t limit);
OM_API void om_typestats_free(om_typestats *st);
/* Live objects whose type is named type_name (objgraph.count). */
OM_API size_t om_objgraph_count(om_runtime *rt, const char *type_name);

/* ---- changes (objgraph.growth, pympler's summary.get_diff) -------------------- */
typedef struct om_type_diff {
    const char *name;
    size_t count, bytes;            /* now */
    int64_t count_diff, bytes_diff; /* against the earlier census or the peak */
} om_type_diff;

typedef struct om_type_diffs {
    size_t n; /* entries, biggest count change first */
    om_type_diff *items;
} om_type_diffs;

/* The types whose count rose above their peak, like objgraph.growth: *peak
 * holds the peaks between calls (NULL before the first; the first call
 * reports every type), is updated, and is freed by the caller with
 * om_typestats_free.  At most `limit` entries (0: all). */
OM_API om_type_diffs *om_objgraph_growth(om_runtime *rt, om_typestats **peak, size_t limit);
/* Every type whose count or bytes differ between two censuses. */
OM_API om_type_diffs *om_summary_get_diff(const om_typestats *before, const om_typestats *after);
OM_API void om_type_diffs_free(om_type_diffs *d);

/* ---- objects and references (objgraph) ------------------------------------------ */
/* A list of every live object whose type is named type_name. */
OM_API om_object *om_objgraph_by_type(om_runtime *rt, const char *type_name);
/* A shortest chain [root, ..., obj] of references that keeps obj alive, or
 * NULL with a message when there is none within max_depth (0: no limit).
 * A root is one of roots[0..nroots) when given, else an object that no live
 * object refers to (it is held from C, or leaked). */
OM_API om_object *om_objgraph_find_backref_chain(om_runtime *rt, om_object *obj,
                                                 om_object *const *roots, size_t nroots,
                                                 size_t max_depth);
/* Mortal objects that no live object refers to: held only from C (or from
 * nothing: leaked).  objgraph.get_leaking_objects. */
OM_API om_object *om_objgraph_get_leaking_objects(om_runtime *rt);

/* Graphviz DOT of the references around objs: forward (what they refer to,
 * objgraph.show_refs), backward (what refers to them, show_backrefs) or
 * both, max_depth steps out, at most max_nodes nodes (0: 1000).  Labels are
 * type and repr, escaped.  0, or -1 with a message. */
#define OM_REFS_FORWARD  1
#define OM_REFS_BACKWARD 2
OM_API int om_objgraph_show_refs(om_runtime *rt, om_object *const *objs, size_t n, int directions,
                                 size_t max_depth, size_t max_nodes, FILE *out);

/* ---- sizes (pympler.asizeof) ---------------------------------------------------- */
/* The bytes of obj and of everything it reaches, each object counted once
 * (om_sys_getsizeof of each).  (size_t)-1 with a message on failure. */
OM_API size_t om_asizeof(om_object *obj);

/* ---- reports ------------------------------------------------------------------------ */
OM_API int om_typestats_write(const om_typestats *st, size_t limit, om_format fmt, FILE *out);
OM_API int om_type_diffs_write(const om_type_diffs *d, size_t limit, om_format fmt, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
