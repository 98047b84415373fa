/*
 * types/types.c: the types layer's per-runtime state (struct ty_state), its
 * setup and teardown, the type errors every type reports, and None.
 *
 * Setup creates what every program uses at once: the small ints, None and
 * the interning table.  The empty str and bytes and the containers'
 * singletons are made on first use.  Teardown runs after every object of the
 * runtime is gone (str deallocs use the interning table until then).
 */
#include "types/types.h"

#include <stddef.h>

#include "gc/gc.h"
#include "types/containers.h"

void *ty_type_error(const char *what, const om_object *o)
{
    om_set_error("expected %s, got %s", what, om_type_name(o));
    return NULL;
}

int ty_type_error_int(const char *what, const om_object *o)
{
    ty_type_error(what, o);
    return -1;
}

/* ---- None ------------------------------------------------------------------ */

static om_hash_t none_hash(om_object *o)
{
    (void)o;
    return 0xfca86420u; /* a constant, as in Python 3.12 */
}

static size_t none_repr(om_object *o, char *buf, size_t size)
{
    (void)o;
    ty_sink s = ty_sink_init(buf, size);
    ty_sink_puts(&s, "None");
    return s.len;
}

const om_type om_none_type = {
    .name = "NoneType",
    .basicsize = sizeof(om_object),
    .flags = OM_TYPE_IMMUTABLE,
    .hash = none_hash,
    .repr = none_repr,
};

om_object *om_none(om_runtime *rt)
{
    return rt ? ty_state_of(rt)->none : ty_type_error("a runtime", NULL);
}

bool om_none_check(const om_object *o)
{
    return o && o->ob_type == &om_none_type;
}

/* ---- setup and teardown ------------------------------------------------------- */

int ty_runtime_init(om_runtime *rt)
{
    rt->types = om_calloc(1, sizeof *rt->types);
    if (!rt->types) {
        om_set_error("out of memory: cannot allocate the types layer's state");
        return -1;
    }
    if (ty_intern_init(rt) != 0 || ty_small_ints_init(rt) != 0)
        return -1;
    om_object *none = om_new(rt, &om_none_type);
    if (!none)
        return -1;
    om_make_immortal(none);
    rt->types->none = none;
    /* The collector reads list and tuple items in place (gc/gc.h). */
    if (gc_register_items(rt, &ty_list_type, offsetof(ty_list, size), offsetof(ty_list, items),
                          true) != 0 ||
        gc_register_items(rt, &ty_tuple_type, offsetof(ty_tuple, size), offsetof(ty_tuple, items),
                          false) != 0)
        return -1;
    return 0;
}

void ty_runtime_fini(om_runtime *rt)
{
    if (!rt->types)
        return;
    ty_intern_fini(rt);
    om_free(rt->types);
    rt->types = NULL;
}
