/*
 * omtest.h: what the tests share on top of cmocka.
 *
 * Death tests: omtest_expect_abort runs a function in a forked child with
 * stderr captured, and checks that the child aborted (SIGABRT) and printed a
 * line containing the expected text.  This proves the "one line, then abort"
 * paths of heap corruption detection.
 */
#ifndef OMTEST_H
#define OMTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Runs fn(arg) in a child; fails the test unless the child aborts and its
 * stderr contains `expect`.  Returns what the child printed (static buffer). */
const char *omtest_expect_abort(void (*fn)(void *), void *arg, const char *expect);

/* A seeded xorshift generator for reproducible random tests. */
uint64_t omtest_rand(void);
void omtest_srand(uint64_t seed);

#endif
