"""bench/python/objcost.py: what an object costs by itself on CPython, the
peer of bench/objcost.c.

    header_bytes     sys.getsizeof(object()): the header alone
    empty_bytes      the same (an untracked object is only its header)
    empty_gc_bytes   an instance of a class with empty __slots__: tracked by
                     the collector, so getsizeof adds the GC header

and the memory table of bench/objcost.c, sys.getsizeof of the same shapes:

    tuple_N_bytes    a tuple of N items             N = 0, 1, 8, 64
    list_N_bytes     a list grown by N appends
    dict_N_bytes     a dict of N int keys set one by one (values None)
    record_N_bytes   an instance of a class with N __slots__, all set, N >= 1
    shapes_bytes     the sum of the above: the row's figure

Prints the report lines of bench/bench.h.
"""
import sys


class Empty:
    __slots__ = ()


SHAPE_ITEMS = (0, 1, 8, 64)


def record_of(n):
    names = tuple("s%d" % i for i in range(n))
    cls = type("Shape", (), {"__slots__": names})
    r = cls()
    for name in names:
        setattr(r, name, None)
    return r


def shape_table():
    total = 0
    for n in SHAPE_ITEMS:
        lst, dct = [], {}
        for i in range(n):
            lst.append(i)
            dct[i] = None
        shapes = [("tuple", tuple(range(n))), ("list", lst), ("dict", dct)]
        if n > 0:
            shapes.append(("record", record_of(n)))
        for kind, obj in shapes:
            size = sys.getsizeof(obj)
            print("metric %s_%d_bytes %d B" % (kind, n, size))
            total += size
    print("metric shapes_bytes %d B" % total)


def main():
    print("info allocator python")
    plain = sys.getsizeof(object())
    print("metric header_bytes %d B" % plain)
    print("metric empty_bytes %d B" % plain)
    print("metric empty_gc_bytes %d B" % sys.getsizeof(Empty()))
    shape_table()


if __name__ == "__main__":
    main()
