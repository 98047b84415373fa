"""bench/python/objops.py: the builtin containers' everyday operations on
CPython, the peer of bench/objops.c, with the same arguments.

    objops.py append OPS   lists of LEN items built by l.append(x), dropped
    objops.py dict OPS     dicts of KEYS str keys built by d[k] = v, read
                           back by d[k], dropped
    objops.py intern OPS   sys.intern of a str that is not interned but equal
                           to one that is

Keys and copies are made (and hashed) before the clock starts.  Each phase
checks what it built, as the C program does.

Prints the report lines of bench/bench.h: ns_per_op, ops, time (s).
"""
import sys
import time

LEN = 1000
KEYS = 1024


def hashed(strs):
    for s in strs:
        hash(s)
    return strs


def run_append(ops):
    x = 1.5
    rounds = ops // LEN
    for _ in range(rounds):
        l = []
        for _ in range(LEN):
            l.append(x)
        if len(l) != LEN:
            sys.exit("objops.py: a list of %d appends holds %d" % (LEN, len(l)))
        del l
    return rounds * LEN


def run_dict(ops):
    keys = hashed(["key%d" % i for i in range(KEYS)])
    v = 2.5
    rounds = ops // (2 * KEYS)
    found = 0
    for _ in range(rounds):
        d = {}
        for k in keys:
            d[k] = v
        for k in keys:
            found += d[k] is v
        if len(d) != KEYS:
            sys.exit("objops.py: a dict of %d keys holds %d" % (KEYS, len(d)))
        del d
    if found != rounds * KEYS:
        sys.exit("objops.py: %d of %d dict reads found their value" % (found, rounds * KEYS))
    return rounds * 2 * KEYS


def run_intern(ops):
    canon = [sys.intern("name%d" % i) for i in range(KEYS)]
    copies = hashed(["name%d" % i for i in range(KEYS)])
    if any(c is s for c, s in zip(copies, canon)):
        sys.exit("objops.py: the copy of an interned str is interned")
    intern = sys.intern
    rounds = ops // KEYS
    same = 0
    for _ in range(rounds):
        for i in range(KEYS):
            same += intern(copies[i]) is canon[i]
    if same != rounds * KEYS:
        sys.exit("objops.py: %d of %d lookups found the interned str" % (same, rounds * KEYS))
    return rounds * KEYS


def main():
    runs = {"append": run_append, "dict": run_dict, "intern": run_intern}
    if len(sys.argv) < 2 or sys.argv[1] not in runs:
        sys.exit("usage: objops.py append|dict|intern OPS")
    ops = int(sys.argv[2]) if len(sys.argv) > 2 else 10000000
    print("info allocator python")
    t0 = time.perf_counter()
    done = runs[sys.argv[1]](ops)
    elapsed = time.perf_counter() - t0
    if done <= 0:
        sys.exit("objops.py: %d operations is too few for one round" % ops)
    print("metric ns_per_op %.6f ns" % (elapsed * 1e9 / done))
    print("metric ops %d ops" % done)
    print("metric time %.6f s" % elapsed)


if __name__ == "__main__":
    main()
