/*
 * inspect/inspect.h: the inspect layer's pieces, grouped by the file that
 * defines them.  Above heap, object, gc and types; calls down only.
 *
 * Glossary
 *   census   one walk of a runtime's object heap: every live object
 *   graph    the census with an index (address -> dense number) and, when
 *            asked, the reverse edges (who refers to each object) in CSR
 *            form: referrers of i are in_edges[in_off[i] .. in_off[i+1])
 *
 * Memory comes from malloc: these are tools a program calls, never run
 * inside the allocator; the objects' own heap is only read.
 */
#ifndef OM_INSPECT_INSPECT_H
#define OM_INSPECT_INSPECT_H

#include "objmem/inspect.h"
#include "object/object.h"
#include "util/util.h"

#define IN_NONE UINT32_MAX

/* ---- graph.c: census, index and reverse edges ----------------------------------- */
typedef struct in_graph {
    om_runtime *rt;
    om_object **objs; /* every live object (free-list blocks excluded) */
    size_t *sizes;    /* their heap block sizes */
    size_t n;
    uintptr_t *keys; /* open addressing: address -> index (vals) */
    uint32_t *vals;
    size_t cap;                  /* a power of two, at least 2n */
    uint32_t *in_off, *in_edges; /* reverse edges, when built */
} in_graph;

/* The census of rt (and the reverse edges when `referrers`); -1 with a
 * message when memory runs out or a release is running on rt. */
OM_INTERNAL int in_graph_build(in_graph *g, om_runtime *rt, bool referrers);
OM_INTERNAL void in_graph_free(in_graph *g);
/* The index of o, or IN_NONE when o is not a live object of the census. */
OM_INTERNAL uint32_t in_graph_find(const in_graph *g, const om_object *o);
/* Calls fn on every object o refers to (its type's traverse); returns what
 * traverse returned. */
OM_INTERNAL int in_referents(om_object *o, om_visitproc fn, void *arg);

/* ---- visited.c: a set of addresses, and a string hash ------------------------------ */
/* FNV-1a 64 of a NUL-terminated string. */
OM_INTERNAL uint64_t in_hash_str(const char *s);
typedef struct in_set {
    uintptr_t *keys;
    size_t cap, n;
} in_set;
/* 1 when added, 0 when already there, -1 when memory ran out. */
OM_INTERNAL int in_set_add(in_set *s, const void *p);
OM_INTERNAL bool in_set_has(const in_set *s, const void *p);
OM_INTERNAL void in_set_free(in_set *s);

/* ---- census.c ------------------------------------------------------------------------ */
OM_INTERNAL om_typestats *in_typestats(const in_graph *g);
/* A new om list holding objs[0..n) (references taken); NULL with a message. */
OM_INTERNAL om_object *in_list_of(om_runtime *rt, om_object *const *objs, size_t n);

/* ---- json: strings escaped for JSON and DOT --------------------------------------------- */
OM_INTERNAL void in_json_string(FILE *out, const char *s);

#endif
