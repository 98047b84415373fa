/*
 * util/native_symbols.h: machine addresses -> function, source file and line,
 * for every layer that names native frames (the tracer's snapshots in this
 * process, the `objmem` command's reports of another process's capture).
 *
 * One module so the two share one way of loading elfutils' libdwfl and one
 * demangler; see native_symbols.c for how.
 */
#ifndef OM_UTIL_NATIVE_SYMBOLS_H
#define OM_UTIL_NATIVE_SYMBOLS_H

#include <stdio.h>

#include "util/util.h"

/* A libdwfl session over one set of modules.  Not thread-safe: callers that
 * share one serialise their lookups. */
typedef struct om_dwarf om_dwarf;

/* A session over this process's modules; NULL when libdw is missing. */
OM_INTERNAL om_dwarf *om_dwarf_open_self(void);
/* A session over the modules named by /proc/PID/maps text (another process,
 * possibly gone); NULL when libdw is missing. */
OM_INTERNAL om_dwarf *om_dwarf_open_maps(FILE *maps);
OM_INTERNAL void om_dwarf_close(om_dwarf *d);

typedef struct om_dwarf_frame {
    const char *function; /* the symbol as the ELF file names it, or NULL */
    const char *file;     /* the source file, or NULL */
    int line;             /* 0 when file is NULL */
} om_dwarf_frame;

/* What the session knows of the instruction at pc (a return address minus
 * one, so it lies inside the call).  False when it knows nothing.  The
 * strings live as long as the session. */
OM_INTERNAL bool om_dwarf_lookup(om_dwarf *d, uintptr_t pc, om_dwarf_frame *out);

/* The readable form of a symbol, malloc'd: a C++ name demangled
 * ("_ZN3foo3barEv" -> "foo::bar()", when the C++ runtime's demangler can be
 * loaded) and an ELF symbol version cut ("memcpy@@GLIBC_2.14" -> "memcpy");
 * NULL when the symbol reads well as it is (or is NULL).  Safe to call from
 * any thread. */
OM_INTERNAL char *om_readable_symbol(const char *symbol);

#endif
