/*
 * tests/preload/test_reader.c: `objmem report` on captures written here byte
 * by byte (so it runs in every build, sanitizers included, without the
 * preload library): the numbers of a known capture, events of two threads
 * whose blocks reached the file out of order, a capture cut at every byte,
 * bytes flipped at random, another version, not a capture at all.  The
 * reader must answer each with a report or a one-line reason, never a crash
 * or a hang.
 */
#include "../../cli/capture_format.h"
#include "preload_test.h"

static char out[PT_OUT];
static const char *dir;

typedef struct buf {
    uint8_t b[8192];
    size_t n;
} buf;

static void put(buf *x, uint64_t v)
{
    x->n = (size_t)(cap_put_varint(x->b + x->n, v) - x->b);
}
static void put_byte(buf *x, uint8_t v)
{
    x->b[x->n++] = v;
}
static void put_str(buf *x, const char *s)
{
    put(x, strlen(s));
    memcpy(x->b + x->n, s, strlen(s));
    x->n += strlen(s);
}

static void put_block(buf *file, const buf *payload)
{
    put_byte(file, CAP_BLOCK_TAG);
    put(file, payload->n);
    memcpy(file->b + file->n, payload->b, payload->n);
    file->n += payload->n;
}

/* Thread 0 allocates 100 bytes at 0x10000 (stack 0x1000 called from 0x1100)
 * and 200 at 0x20000 (stack 0x2000 called from 0x1100, written as the one
 * frame it does not share with the previous stack) and ends; thread 1's block, written first, frees
 * 0x10000 at a later time.  Expected: 300 bytes allocated, peak 300, 200 leaked. */
static size_t known_capture_at(buf *f, uint64_t free_base, int version);

static size_t known_capture(buf *f)
{
    return known_capture_at(f, 50, CAP_VERSION);
}

/* A record's type and time delta, as `version` writes them. */
static void put_head(buf *x, int version, unsigned type, uint64_t dt)
{
    if (version >= 3) {
        x->n = (size_t)(cap_put_head(x->b + x->n, type, dt) - x->b);
        return;
    }
    put_byte(x, (uint8_t)type);
    put(x, dt);
}

/* An allocation's stack head: keep outer frames of the previous n, fresh new. */
static void put_stack_head(buf *x, int version, uint64_t prev_n, uint64_t keep, uint64_t fresh)
{
    if (version >= 3) {
        put(x, (prev_n - keep) << CAP_TYPE_BITS | fresh);
        return;
    }
    put(x, keep);
    put(x, fresh);
}

/* free_base: the time of thread 1's block, which frees 0x10000. */
static size_t known_capture_at(buf *f, uint64_t free_base, int version)
{
    buf t0 = {.n = 0}, t1 = {.n = 0};
    memcpy(f->b, CAP_MAGIC, CAP_MAGIC_LEN);
    f->n = CAP_MAGIC_LEN;
    put_byte(f, (uint8_t)version);
    put(&t1, 1);         /* thread */
    put(&t1, free_base); /* base us */
    put_head(&t1, version, CAP_FREE, 0);
    put(&t1, cap_zigzag(0x10000 >> 4));
    put_block(f, &t1);
    put(&t0, 0);
    put(&t0, 0);
    put_byte(&t0, CAP_INFO);
    put(&t0, 42);
    put(&t0, 1);
    put(&t0, 0);
    put(&t0, 0);
    put(&t0, 0);
    put_str(&t0, "/bin/known");
    put_str(&t0, "known <b>&");
    put_head(&t0, version, CAP_ALLOC, 1); /* stack 0x1000 <- 0x1100: new, two frames */
    put(&t0, 100);
    put_stack_head(&t0, version, 0, 0, 2);
    put(&t0, cap_zigzag(0x1000));
    put(&t0, cap_zigzag(0x100));
    put(&t0, cap_zigzag(0x10000 >> 4));
    put_head(&t0, version, CAP_ALLOC, 1); /* stack 0x2000 <- 0x1100: shares the outer frame */
    put(&t0, 200);
    put_stack_head(&t0, version, 2, 1, 1);
    put(&t0, cap_zigzag(0x2000 - 0x1100));
    put(&t0, cap_zigzag((0x20000 - 0x10000) >> 4));
    put_head(&t0, version, CAP_END, 100); /* version 3: a delta past the byte's 4 bits */
    put_block(f, &t0);
    return f->n;
}

static void write_file(const char *name, const uint8_t *b, size_t n)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

static int report(const char *args)
{
    return pt_runf(out, sizeof out, "cd '%s' && timeout 20 '%s' report %s 2>&1", dir, pt_objmem(),
                   args);
}

static int setup(void **state)
{
    (void)state;
    dir = pt_scratch("reader");
    return 0;
}

static void known_numbers_of(int version)
{
    buf f;
    write_file("known.cap", f.b, known_capture_at(&f, 50, version));
    assert_int_equal(report("--json known.json known.cap"), 0);
    assert_non_null(strstr(out, "total allocated: 300 B in 2 allocations (1 frees)"));
    assert_non_null(strstr(out, "peak heap: 300 B"));
    assert_non_null(strstr(out, "leaked at exit: 200 B in 1 blocks"));
    assert_non_null(strstr(out, "reached exit"));
    /* the second stack's outer frame came from the first (a shared frame) */
    assert_non_null(
        strstr(out, "200 B          1  ? (0x2000)\n                            from ? (0x1100)"));
    assert_non_null(
        strstr(out, "100 B          1  ? (0x1000)\n                            from ? (0x1100)"));
    assert_int_equal(
        pt_runf(out, sizeof out, "cd '%s' && grep -c '\"leak_bytes\":200,' known.json", dir), 0);
    assert_int_equal(report("-q --html k.html known.cap"), 0);
    assert_int_equal(
        pt_runf(out, sizeof out, "cd '%s' && grep -c 'known &lt;b&gt;&amp;' k.html", dir), 0);
}

static void known_numbers(void **state)
{
    (void)state;
    known_numbers_of(CAP_VERSION);
}

/* The version before, which readers still read: the same numbers. */
static void known_numbers_of_version_2(void **state)
{
    (void)state;
    known_numbers_of(2);
}

static void threads_in_one_stamp(void **state)
{
    /* Thread 1's free of 0x10000 shares a time stamp with thread 0's
     * allocation of it, and its block comes first in the file: the reader
     * must still see the allocation first (capture_order.c), so nothing is
     * unmatched and only the 200 bytes leak. */
    (void)state;
    buf f;
    write_file("tie.cap", f.b, known_capture_at(&f, CAP_TIME_UNIT_US, CAP_VERSION));
    assert_int_equal(report("--json tie.json tie.cap"), 0);
    assert_non_null(strstr(out, "leaked at exit: 200 B in 1 blocks"));
    assert_int_equal(
        pt_runf(out, sizeof out, "cd '%s' && grep -c '\"unmatched_frees\":0' tie.json", dir), 0);
}

static void every_truncation(void **state)
{
    (void)state;
    buf f;
    size_t n = known_capture(&f);
    for (size_t cut = 0; cut < n; cut++) {
        write_file("cut.cap", f.b, cut);
        int rc = report("-q cut.cap");
        if (cut <= CAP_MAGIC_LEN) {
            assert_int_equal(rc, 1);
            assert_non_null(strstr(out, "not an objmem capture"));
        } else {
            if (rc != 0)
                fprintf(stderr, "cut at %zu: %s\n", cut, out);
            assert_int_equal(rc, 0); /* a cut file reports what it holds */
        }
    }
    write_file("cut.cap", f.b, n - 3);
    assert_int_equal(report("cut.cap"), 0);
    assert_non_null(strstr(out, "ends inside a record"));
}

static void flipped_bytes(void **state)
{
    (void)state;
    buf f;
    size_t n = known_capture(&f);
    omtest_srand(6);
    for (int round = 0; round < 150; round++) {
        buf g = f;
        size_t at = CAP_MAGIC_LEN + 1 + omtest_rand() % (n - CAP_MAGIC_LEN - 1);
        g.b[at] ^= (uint8_t)(1u << (omtest_rand() % 8));
        write_file("flip.cap", g.b, n);
        int rc = report("-q flip.cap");
        if (rc != 0 && rc != 1)
            fprintf(stderr, "byte %zu flipped: exit %d: %s\n", at, rc, out);
        assert_true(rc == 0 || rc == 1); /* a report or a reason, never a crash */
    }
    buf g = f;
    g.b[CAP_MAGIC_LEN + 1] = 'X'; /* the first block's tag */
    write_file("flip.cap", g.b, n);
    assert_int_equal(report("flip.cap"), 1);
    assert_non_null(strstr(out, "corrupt capture"));
}

static void other_version_and_other_files(void **state)
{
    (void)state;
    buf f;
    size_t n = known_capture(&f);
    f.b[CAP_MAGIC_LEN] = CAP_VERSION + 1;
    write_file("vnext.cap", f.b, n);
    assert_int_equal(report("vnext.cap"), 1);
    char expect[64];
    snprintf(expect, sizeof expect, "version %d; this objmem reads versions %d to %d",
             CAP_VERSION + 1, CAP_VERSION_MIN, CAP_VERSION);
    assert_non_null(strstr(out, expect));
    f.b[CAP_MAGIC_LEN] = CAP_VERSION_MIN - 1;
    write_file("vold.cap", f.b, n);
    assert_int_equal(report("vold.cap"), 1);
    snprintf(expect, sizeof expect, "version %d; this objmem reads", CAP_VERSION_MIN - 1);
    assert_non_null(strstr(out, expect));
    write_file("text.cap", (const uint8_t *)"hello, world\n", 13);
    assert_int_equal(report("text.cap"), 1);
    assert_non_null(strstr(out, "not an objmem capture"));
    write_file("empty.cap", f.b, 0);
    assert_int_equal(report("empty.cap"), 1);
    assert_int_equal(report("does-not-exist.cap"), 1);
    assert_non_null(strstr(out, "No such file"));
    assert_int_equal(report("."), 1);
}

static void bad_options(void **state)
{
    (void)state;
    assert_int_equal(report(""), 2);
    assert_int_equal(report("--top x known.cap"), 2);
    assert_int_equal(report("--frobnicate known.cap"), 2);
    assert_int_equal(report("a.cap b.cap"), 2);
    assert_int_equal(report("--json"), 2);
    assert_int_equal(pt_runf(out, sizeof out, "'%s' diff onlyone.cap 2>&1", pt_objmem()), 2);
    assert_int_equal(pt_runf(out, sizeof out, "'%s' run 2>&1", pt_objmem()), 2);
    assert_int_equal(pt_runf(out, sizeof out, "'%s' run --depth 0 -- true 2>&1", pt_objmem()), 2);
    assert_int_equal(pt_runf(out, sizeof out, "'%s' run --unwind magic -- true 2>&1", pt_objmem()),
                     2);
    assert_int_equal(pt_runf(out, sizeof out, "'%s' run --sample -5 -- true 2>&1", pt_objmem()), 2);
    assert_non_null(strstr(out, "--sample wants a number"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_numbers),        cmocka_unit_test(known_numbers_of_version_2),
        cmocka_unit_test(threads_in_one_stamp), cmocka_unit_test(every_truncation),
        cmocka_unit_test(flipped_bytes),        cmocka_unit_test(other_version_and_other_files),
        cmocka_unit_test(bad_options),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
