/*
 * tests/gc/model.h: the reachability model of the randomized tests.  The
 * including file defines MODEL_MAX (objects) and MODEL_SLOTS (slots per
 * object), then keeps model_edges (-1: empty) and model_roots up to date;
 * model_reach() recomputes model_reach_of[] from the roots.  Roots are
 * nodes (nodes.h's id_of names them, NULL: none), or, when the including
 * file defines MODEL_ROOTS_BY_INDEX, model indices (-1: none) in an int
 * array of its own, which it passes to model_reach_ids.
 */
#ifndef TESTS_GC_MODEL_H
#define TESTS_GC_MODEL_H

#include "nodes.h"

#define MODEL_ROOTS 64

static int model_edges[MODEL_MAX][MODEL_SLOTS];
static bool model_reach_of[MODEL_MAX];
static uint32_t model_n; /* objects made so far: ids 0 .. model_n - 1 */

static inline uint32_t rnd(uint32_t n)
{
    return (uint32_t)(omtest_rand() % n);
}

/* model_reach_of[] from the roots' model ids (-1: no root). */
static inline void model_reach_ids(const int *roots)
{
    static uint32_t stack[MODEL_MAX];
    uint32_t sp = 0;
    memset(model_reach_of, 0, sizeof model_reach_of);
    for (int r = 0; r < MODEL_ROOTS; r++)
        if (roots[r] >= 0 && !model_reach_of[roots[r]]) {
            model_reach_of[roots[r]] = true;
            stack[sp++] = (uint32_t)roots[r];
        }
    while (sp) {
        uint32_t i = stack[--sp];
        for (int s = 0; s < MODEL_SLOTS; s++) {
            int j = model_edges[i][s];
            if (j >= 0 && !model_reach_of[j]) {
                model_reach_of[j] = true;
                stack[sp++] = (uint32_t)j;
            }
        }
    }
}

/* A random object the model finds reachable (there must be one). */
static inline uint32_t model_random_reachable(void)
{
    for (;;) {
        uint32_t i = rnd(model_n);
        if (model_reach_of[i])
            return i;
    }
}

#ifndef MODEL_ROOTS_BY_INDEX
static om_object *model_roots[MODEL_ROOTS];

static inline void model_reach(void)
{
    int ids[MODEL_ROOTS];
    for (int r = 0; r < MODEL_ROOTS; r++)
        ids[r] = model_roots[r] ? (int)id_of(model_roots[r]) : -1;
    model_reach_ids(ids);
}

/* Replaces a random root by o (dropping the old root's reference). */
static inline void model_add_root(om_object *o)
{
    uint32_t r = rnd(MODEL_ROOTS);
    om_object *old = model_roots[r];
    model_roots[r] = o;
    model_reach();
    om_xdecref(old);
}

/* Drops a random root. */
static inline void model_drop_root(void)
{
    uint32_t r = rnd(MODEL_ROOTS);
    om_object *o = model_roots[r];
    model_roots[r] = NULL;
    model_reach();
    om_xdecref(o);
}

static inline void model_reset(void)
{
    memset(model_roots, 0, sizeof model_roots);
    model_n = 0;
}
#endif

#endif
