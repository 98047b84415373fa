/*
 * tests/preload/helper_api.c: run under the preload library by
 * test_alloc_nosan; checks the malloc family's edge cases against what glibc
 * promises, that objmem really serves them, and that a block from glibc's own
 * allocator (a "foreign" block, as one from before the library took over)
 * is freed, resized and measured safely.  Prints "api ok" and exits 0.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "helper_api: check failed: %s (line %d)\n", #cond, __LINE__);          \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static void check_served_by_objmem(void)
{
    Dl_info info;
    void *(*volatile m)(size_t) = malloc;
    CHECK(dladdr((void *)m, &info) && info.dli_fname);
    CHECK(strstr(info.dli_fname, "objmem-preload") != NULL);
}

static volatile size_t huge = SIZE_MAX / 2; /* volatile: the compiler must not see the overflow */

static void check_edges(void)
{
    void *a = malloc(0), *b = malloc(0);
    CHECK(a && b && a != b);
    free(a);
    free(b);
    free(NULL);
    errno = 0;
    CHECK(calloc(huge, 4) == NULL && errno == ENOMEM);
    unsigned char *z = calloc(1000, 3);
    for (int i = 0; i < 3000; i++)
        CHECK(z[i] == 0);
    CHECK(malloc_usable_size(z) >= 3000);
    char *r = realloc(NULL, 10);
    CHECK(r);
    memcpy(r, "123456789", 10);
    r = realloc(r, 100000);
    CHECK(r && !strcmp(r, "123456789"));
    CHECK(realloc(r, 0) == NULL);
    errno = 0;
    CHECK(reallocarray(NULL, huge, 3) == NULL && errno == ENOMEM);
    free(reallocarray(z, 10, 10));
    CHECK(malloc_usable_size(NULL) == 0);
}

static void check_alignment(void)
{
    void *p = NULL;
    CHECK(posix_memalign(&p, 3, 10) == EINVAL);
    CHECK(posix_memalign(&p, 4, 10) == EINVAL); /* not a multiple of sizeof(void *) */
    for (size_t al = 8; al <= 65536; al *= 2) {
        CHECK(posix_memalign(&p, al, 100) == 0 && (uintptr_t)p % al == 0);
        free(p);
        p = aligned_alloc(al, 3 * al);
        CHECK(p && (uintptr_t)p % al == 0);
        free(p);
    }
    errno = 0;
    CHECK(aligned_alloc(24, 48) == NULL && errno == EINVAL);
    p = memalign(24, 100); /* glibc rounds up to 32 */
    CHECK(p && (uintptr_t)p % 32 == 0);
    free(p);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    p = valloc(10);
    CHECK(p && (uintptr_t)p % page == 0);
    free(p);
    p = pvalloc(10);
    CHECK(p && (uintptr_t)p % page == 0 && malloc_usable_size(p) >= page);
    free(p);
}

static void check_foreign(void)
{
    char *f = __libc_malloc(100);
    CHECK(f);
    strcpy(f, "foreign");
    CHECK(malloc_usable_size(f) >= 100);
    free(f);
    f = __libc_malloc(50);
    strcpy(f, "moved");
    f = realloc(f, 5000);
    CHECK(f && !strcmp(f, "moved"));
    free(f);
}

/* "double-free N": frees a block of N bytes twice; the run must abort. */
static int double_free(size_t n)
{
    char *volatile p = malloc(n);
    free(p);
    free(p);
    printf("double free of %zu bytes went unnoticed\n", n);
    return 0;
}

/* "inner-free N": frees a pointer 16 bytes into a block of N bytes (N of
 * 48 or more, so that it is not a block start); "fresh-free N": frees the
 * block right after the first one of N bytes, carved but never handed out.
 * Both go through free's inline checks; the run must abort. */
static int bad_free(const char *how, size_t n)
{
    char *volatile p = malloc(n);
    char *q = !strcmp(how, "inner-free") ? p + 16 : p + malloc_usable_size(p);
    free(q);
    printf("%s of %zu bytes went unnoticed\n", how, n);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "double-free"))
        return double_free((size_t)atol(argv[2]));
    if (argc > 2 && (!strcmp(argv[1], "inner-free") || !strcmp(argv[1], "fresh-free")))
        return bad_free(argv[1], (size_t)atol(argv[2]));
    check_served_by_objmem();
    check_edges();
    check_alignment();
    check_foreign();
    printf("api ok\n");
    return 0;
}
