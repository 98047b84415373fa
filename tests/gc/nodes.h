/*
 * tests/gc/nodes.h: the test types of the collector's tests, so they need
 * nothing from the types layer.
 *
 *   node_type     a GC container with n reference slots (om_new_var)
 *   fin_type      the same, with a finalizer that counts its calls and runs
 *                 the test's hook (fin_hook) if set
 *   legacy_type   the same, with OM_TYPE_LEGACY_FINALIZER
 *   frozen_type   an immutable GC container (untracked when it holds atoms)
 *   atom_type     a leaf that holds no references (not a GC type)
 *
 * Every instance has an id; its dealloc counts frees[id] and its finalizer
 * finals[id], so a test can check exactly which objects died, and how often
 * each finalizer ran.
 */
#ifndef TESTS_GC_NODES_H
#define TESTS_GC_NODES_H

#include <stdlib.h>
#include <string.h>

#include "omtest.h"
#include "objmem.h"

typedef struct node {
    om_object ob;
    uint32_t id;
    uint32_t n;
    om_object *slot[];
} node;

#define NODES_MAX (1u << 21)
#define NODE(o)   ((node *)(o))

static uint8_t *frees __attribute__((unused));
static uint8_t *finals __attribute__((unused));
static uint32_t next_id __attribute__((unused));
static void (*fin_hook)(om_object *self) __attribute__((unused));

static inline void nodes_reset(void)
{
    if (!frees) {
        frees = calloc(NODES_MAX, 1);
        finals = calloc(NODES_MAX, 1);
    }
    memset(frees, 0, NODES_MAX);
    memset(finals, 0, NODES_MAX);
    next_id = 0;
    fin_hook = NULL;
}

static inline int node_traverse(om_object *self, om_visitproc visit, void *arg)
{
    node *n = NODE(self);
    for (uint32_t i = 0; i < n->n; i++) {
        if (n->slot[i]) {
            int rc = visit(n->slot[i], arg);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static inline int node_clear(om_object *self)
{
    node *n = NODE(self);
    for (uint32_t i = 0; i < n->n; i++) {
        om_object *tmp = n->slot[i];
        n->slot[i] = NULL;
        om_xdecref(tmp);
    }
    return 0;
}

static inline void node_dealloc(om_object *self)
{
    node *n = NODE(self);
    if (n->id < NODES_MAX)
        frees[n->id]++;
    node_clear(self);
}

static inline void node_finalize(om_object *self)
{
    if (NODE(self)->id < NODES_MAX)
        finals[NODE(self)->id]++;
    if (fin_hook)
        fin_hook(self);
}

/* A node type: every one has n reference slots; they differ in flags and
 * in having a finalizer. */
#define NODE_TYPE(var, tname, tflags, fin)                                                         \
    static const om_type var __attribute__((unused)) = {                                           \
        .name = tname,                                                                             \
        .basicsize = sizeof(node),                                                                 \
        .itemsize = sizeof(om_object *),                                                           \
        .flags = (tflags),                                                                         \
        .dealloc = node_dealloc,                                                                   \
        .traverse = ((tflags)&OM_TYPE_GC) ? node_traverse : NULL,                                  \
        .clear = ((tflags)&OM_TYPE_GC) ? node_clear : NULL,                                        \
        .finalize = (fin),                                                                         \
    }

NODE_TYPE(node_type, "node", OM_TYPE_GC, NULL);
NODE_TYPE(fin_type, "fin", OM_TYPE_GC, node_finalize);
NODE_TYPE(legacy_type, "legacy", OM_TYPE_GC | OM_TYPE_LEGACY_FINALIZER, node_finalize);
NODE_TYPE(frozen_type, "frozen", OM_TYPE_GC | OM_TYPE_IMMUTABLE, NULL);
NODE_TYPE(atom_type, "atom", 0, NULL);

/* A new instance of t with n empty slots (a new reference). */
static inline om_object *mk(om_runtime *rt, const om_type *t, uint32_t n)
{
    om_object *o = om_new_var(rt, t, n);
    assert_non_null(o);
    NODE(o)->id = next_id++;
    NODE(o)->n = n;
    return o;
}

/* slot i of a = b (a takes its own reference; the old one is dropped). */
static inline void set_slot(om_object *a, uint32_t i, om_object *b)
{
    om_object *old = NODE(a)->slot[i];
    om_xincref(b);
    NODE(a)->slot[i] = b;
    om_xdecref(old);
}

static inline uint32_t id_of(om_object *o)
{
    return NODE(o)->id;
}

static inline unsigned gen_of(const om_object *o)
{
    return (o->ob_gc & OM_GC_GEN_MASK) >> OM_GC_GEN_SHIFT;
}

static inline om_runtime *new_runtime(void)
{
    nodes_reset();
    om_runtime *rt = om_runtime_new(NULL);
    assert_non_null(rt);
    om_gc_disable(rt); /* tests collect explicitly unless they test the trigger */
    return rt;
}

#endif
