"""bench/python/objcost.py: what an object costs by itself on CPython, the
peer of bench/objcost.c.

    header_bytes     sys.getsizeof(object()): the header alone
    empty_bytes      the same (an untracked object is only its header)
    empty_gc_bytes   an instance of a class with empty __slots__: tracked by
                     the collector, so getsizeof adds the GC header

Prints the report lines of bench/bench.h.
"""
import sys


class Empty:
    __slots__ = ()


def main():
    print("info allocator python")
    plain = sys.getsizeof(object())
    print("metric header_bytes %d B" % plain)
    print("metric empty_bytes %d B" % plain)
    print("metric empty_gc_bytes %d B" % sys.getsizeof(Empty()))


if __name__ == "__main__":
    main()
