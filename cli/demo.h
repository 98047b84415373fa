/* cli/demo.h: the sections of `objmem demo`, one file each. */
#ifndef OM_CLI_DEMO_H
#define OM_CLI_DEMO_H

typedef struct demo_options {
    int scale;    /* 0 quick (tests), 1 normal */
    int threads;  /* worker threads for the heap workload */
    int progress; /* draw the live progress line */
} demo_options;

/* Each returns 0, or prints what went wrong and returns -1. */
int demo_heap(const demo_options *opt);

#endif
