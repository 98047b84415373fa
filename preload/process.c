/*
 * preload/process.c: the preload library's life in its process: start-up,
 * the capture file's name, the module maps, and the calls that end or
 * replace the process image.
 *
 * Start-up.  The constructor runs before the program's own constructors and
 * main.  The allocator itself needs none of it (see alloc.c); recording starts
 * here, when OBJMEM_CAPTURE names a file, so every allocation from the first
 * constructor of the program on is seen.  Allocations before it (ld.so, libc's
 * start-up) are served by objmem but not recorded.
 *
 * Names.  The process `objmem run` started (OBJMEM_CAPTURE_PID) writes to
 * OBJMEM_CAPTURE itself; any other process (a forked child, a child that
 * exec'd) to OBJMEM_CAPTURE.PID.  When the name is taken, the older file is
 * moved aside to NAME.1, NAME.2, ...: a process that execs another program
 * keeps its pid, so the name always ends up holding the last program the
 * process ran, and the earlier ones stay beside it.
 *
 * Endings.  exit() reaches the destructor, which writes the last records.
 * _exit and _Exit skip destructors, so they are wrapped; so are the exec
 * family, which would drop the calling thread's buffer: execve, execv,
 * execvp and execvpe, and execl, execle and execlp, whose glibc versions
 * call glibc's internal execve past any wrapper: here they gather their
 * arguments into an array and go through the wrappers of the v forms.  In
 * a vfork child, which shares the parent's memory, these wrappers do
 * nothing.
 *
 * Maps.  Symbols are resolved at report time, so the capture keeps the
 * file-backed mappings of /proc/self/maps: at start, and after each dlopen
 * (only the mappings not written before).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"

/* Mappings already written (start address ^ inode), so a dlopen writes only
 * the new ones.  Beyond this many, every mapping is written again. */
#define SEEN_SLOTS 8192u
/* Bytes of /proc/self/maps read at a time; a line longer than this is cut. */
#define MAPS_CHUNK 8192u

static pid_t recording_pid;
static uint64_t *seen;
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static void *(*real_dlopen)(const char *, int);
static int (*real_execvp)(const char *, char *const[]);
static int (*real_execvpe)(const char *, char *const[], char *const[]);

/* ---- the file ------------------------------------------------------------------- */
static size_t format_pid(char *out, long v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

int pl_open_capture(const char *base)
{
    char name[1100], aside[1130];
    size_t len = strlen(base);
    memcpy(name, base, len + 1);
    const char *want = getenv("OBJMEM_CAPTURE_PID");
    if (!want || atol(want) != (long)getpid()) {
        name[len++] = '.';
        len += format_pid(name + len, (long)getpid());
    }
    for (long k = 1; access(name, F_OK) == 0 && k < 1000; k++) {
        memcpy(aside, name, len);
        aside[len] = '.';
        format_pid(aside + len + 1, k);
        if (access(aside, F_OK) != 0)
            rename(name, aside);
    }
    recording_pid = getpid();
    return open(name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
}

/* ---- maps ---------------------------------------------------------------------- */
static const char *parse_hex(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    for (;; s++) {
        int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
        if (d < 0)
            break;
        v = v * 16 + (uint64_t)d;
    }
    *out = v;
    return s;
}

static const char *skip_field(const char *s)
{
    while (*s && *s != ' ')
        s++;
    while (*s == ' ')
        s++;
    return s;
}

/* True the first time this mapping is seen. */
static bool first_sight(uint64_t key)
{
    if (!seen)
        return true;
    key |= 1;
    size_t i = (key * 0x9e3779b97f4a7c15ull) >> 51;
    for (size_t probes = 0; probes < SEEN_SLOTS; probes++, i = (i + 1) & (SEEN_SLOTS - 1)) {
        if (seen[i] == key)
            return false;
        if (!seen[i]) {
            seen[i] = key;
            return true;
        }
    }
    return true;
}

void pl_maps_forget(void)
{
    if (seen)
        memset(seen, 0, SEEN_SLOTS * sizeof *seen);
}

/* One line: "start-end perms offset dev inode   path". */
static void map_line(const char *line, void (*emit)(const uint8_t *, size_t, void *), void *arg)
{
    uint64_t start, end, offset, inode = 0;
    const char *s = parse_hex(line, &start);
    if (*s != '-')
        return;
    s = parse_hex(s + 1, &end);
    const char *perms = s + 1;
    bool exec = perms[0] && perms[1] && perms[2] == 'x';
    s = skip_field(perms);
    s = parse_hex(s, &offset);
    s = skip_field(skip_field(s)); /* the offset's end, then dev */
    for (; *s >= '0' && *s <= '9'; s++)
        inode = inode * 10 + (uint64_t)(*s - '0');
    while (*s == ' ')
        s++;
    if (*s != '/' || !first_sight(start ^ (inode << 20)))
        return;
    uint8_t rec[4096 + 64], *p = rec;
    *p++ = CAP_MAP;
    p = cap_put_varint(p, start);
    p = cap_put_varint(p, end);
    p = cap_put_varint(p, offset);
    p = cap_put_varint(p, inode);
    *p++ = exec;
    size_t n = strnlen(s, 4096);
    p = cap_put_varint(p, n);
    memcpy(p, s, n);
    emit(rec, (size_t)(p + n - rec), arg);
}

void pl_read_maps(void (*emit)(const uint8_t *rec, size_t len, void *arg), void *arg)
{
    char buf[MAPS_CHUNK + 1];
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    pthread_mutex_lock(&maps_lock);
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, MAPS_CHUNK - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = '\0';
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = '\0';
            map_line(line, emit, arg);
            line = nl + 1;
        }
        have -= (size_t)(line - buf);
        memmove(buf, line, have);
        if (have == MAPS_CHUNK)
            have = 0; /* a line longer than the buffer: dropped */
    }
    pthread_mutex_unlock(&maps_lock);
    close(fd);
}

/* ---- start and finish --------------------------------------------------------------- */
__attribute__((constructor(101))) static void start(void)
{
    pl_next_usable_size = (size_t(*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
    real_dlopen = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
    real_execvp = (int (*)(const char *, char *const[]))dlsym(RTLD_NEXT, "execvp");
    real_execvpe = (int (*)(const char *, char *const[], char *const[]))dlsym(RTLD_NEXT, "execvpe");
    const char *path = getenv("OBJMEM_CAPTURE");
    if (!path || !*path)
        return;
    void *m = mmap(NULL, SEEN_SLOTS * sizeof *seen, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    seen = m == MAP_FAILED ? NULL : m;
    if (pl_record_start(path) < 0)
        om_fdprintf(2, "objmem: preload: recording is off for this process\n");
}

__attribute__((destructor(101))) static void finish(void)
{
    pl_record_finish(1);
}

/* The process image ends or is replaced: write what the calling thread holds.
 * Not in a vfork child (another pid in the parent's memory). */
static void leaving(int stop)
{
    if (recording_pid && getpid() == recording_pid)
        pl_record_finish(stop);
}

/* ---- interposed calls ------------------------------------------------------------ */
#define PL_EXPORT __attribute__((visibility("default")))

PL_EXPORT void *dlopen(const char *file, int mode)
{
    if (!real_dlopen)
        real_dlopen = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
    /* new code may land where closed code was: the unwinder's rules go (its
     * constructors allocate before pl_record_maps below runs) */
    __atomic_add_fetch(&pl_unwind_epoch, 1, __ATOMIC_RELAXED);
    void *h = real_dlopen(file, mode);
    if (h)
        pl_record_maps();
    return h;
}

PL_EXPORT void _exit(int status)
{
    leaving(1);
    for (;;)
        syscall(SYS_exit_group, status);
}

PL_EXPORT void _Exit(int status)
{
    _exit(status);
}

PL_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    leaving(0);
    return (int)syscall(SYS_execve, path, argv, envp);
}

PL_EXPORT int execv(const char *path, char *const argv[])
{
    extern char **environ;
    return execve(path, argv, environ);
}

PL_EXPORT int execvp(const char *file, char *const argv[])
{
    leaving(0);
    if (!real_execvp) {
        errno = ENOSYS;
        return -1;
    }
    return real_execvp(file, argv);
}

PL_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    leaving(0);
    if (!real_execvpe) {
        errno = ENOSYS;
        return -1;
    }
    return real_execvpe(file, argv, envp);
}

/* ---- the execl family: a list of arguments made an array -------------------- */

/* Arguments an execl-style call can pass without a mapping of their own. */
#define EXEC_ARGS_ON_STACK 256u

/* Its arguments, arg0 first, the NULL that ends them not counted. */
static size_t count_args(const char *arg0, va_list ap)
{
    size_t n = 0;
    for (const char *a = arg0; a; a = va_arg(ap, const char *))
        n++;
    return n;
}

/* Room for n + 1 argument pointers: `local` when they fit, else a fresh
 * mapping (no malloc: a vfork child may call this), NULL if that fails. */
static char **args_room(char **local, size_t n)
{
    if (n < EXEC_ARGS_ON_STACK)
        return local;
    void *m = mmap(NULL, (n + 1) * sizeof(char *), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

/* Copies n arguments (arg0 and n - 1 from ap) and the closing NULL; ap is
 * left just past that NULL (where execle's environment lies). */
static void fill_args(char **argv, const char *arg0, size_t n, va_list ap)
{
    argv[0] = (char *)arg0;
    for (size_t i = 1; i < n; i++)
        argv[i] = va_arg(ap, char *);
    if (n)
        (void)va_arg(ap, char *); /* the NULL */
    argv[n] = NULL;
}

/* Which v form an execl-style call ends in. */
enum exec_form { EXEC_PATH, EXEC_SEARCH, EXEC_ENVIRON };

/* The body of the three: the arguments from arg0 on (and, for execle, the
 * environment after their NULL) made an array, then the wrapper of the v
 * form, which writes the last records. */
static int exec_list(enum exec_form form, const char *path, const char *arg0, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    size_t n = count_args(arg0, again);
    va_end(again);
    char *local[EXEC_ARGS_ON_STACK];
    char **argv = args_room(local, n);
    if (!argv) {
        errno = E2BIG;
        return -1;
    }
    fill_args(argv, arg0, n, ap);
    int r = form == EXEC_ENVIRON  ? execve(path, argv, va_arg(ap, char *const *))
            : form == EXEC_SEARCH ? execvp(path, argv)
                                  : execv(path, argv);
    int saved = errno; /* it failed: give the room back */
    if (argv != local)
        munmap(argv, (n + 1) * sizeof(char *));
    errno = saved;
    return r;
}

#define EXEC_LIST(form, path, arg0)                                                                \
    va_list ap;                                                                                    \
    va_start(ap, arg0);                                                                            \
    int r = exec_list(form, path, arg0, ap);                                                       \
    va_end(ap);                                                                                    \
    return r

PL_EXPORT int execl(const char *path, const char *arg0, ...)
{
    EXEC_LIST(EXEC_PATH, path, arg0);
}

PL_EXPORT int execlp(const char *file, const char *arg0, ...)
{
    EXEC_LIST(EXEC_SEARCH, file, arg0);
}

PL_EXPORT int execle(const char *path, const char *arg0, ...)
{
    EXEC_LIST(EXEC_ENVIRON, path, arg0);
}
