/*
 * heap/batch.h: what heap/batch.c (bulk frees) needs from the rest of the
 * heap's files.  Only src/heap includes it.
 */
#ifndef OM_HEAP_BATCH_H
#define OM_HEAP_BATCH_H

#include "heap/core.h"

/* segment.c: hold (true) or let go (false) of the prompt purge; holds nest.
 * Letting go of the last hold runs the prompt purge if it is due. */
OM_INTERNAL void hp_segments_hold_purge_locked(bool hold);

#endif
