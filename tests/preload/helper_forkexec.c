/*
 * tests/preload/helper_forkexec.c: fork and exec under the preload library.
 * The parent allocates, forks children that keep using (and freeing) the
 * parent's blocks and their own, then exit; others exec this program again
 * ("child" mode) or /bin/sh.  Prints what each step saw, in a fixed order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int work(int n)
{
    char **v = malloc((size_t)n * sizeof *v);
    int sum = 0;
    for (int i = 0; i < n; i++) {
        v[i] = malloc((size_t)(i % 300) + 1);
        memset(v[i], i & 0x7f, (size_t)(i % 300) + 1);
    }
    for (int i = 0; i < n; i++) {
        sum += v[i][0];
        free(v[i]);
    }
    free(v);
    return sum;
}

static int wait_child(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "child")) {
        printf("exec'd child: %d\n", work(2000));
        return 7;
    }
    char *kept = strdup("block from the parent");
    printf("parent: %d\n", work(5000));
    fflush(stdout);
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* the child frees a block the parent allocated before the fork */
            int ok = !strcmp(kept, "block from the parent");
            free(kept);
            printf("forked child %d: %d %s\n", i, work(3000 + i), ok ? "ok" : "bad");
            fflush(stdout);
            if (i == 2)
                _exit(3);
            exit(i);
        }
        printf("child %d exit %d\n", i, wait_child(pid));
        fflush(stdout);
    }
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", argv[0], "child", (char *)NULL);
        _exit(99);
    }
    printf("exec child exit %d\n", wait_child(pid));
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        char *args[] = {"sh", "-c", "echo from sh; exit 5", NULL};
        execvp("sh", args);
        _exit(99);
    }
    printf("sh exit %d\n", wait_child(pid));
    free(kept);
    return 0;
}
