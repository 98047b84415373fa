// tests/preload/helper_cxx.cc: a C++ program for the preload tests.  Its
// allocations go through the C++ runtime's operators (new, new[], aligned
// new, the exception allocator, the standard containers) into malloc and
// so into the preload library; its functions have mangled names, which the
// reports must print demangled.  Prints what it computed, so a run on
// glibc's malloc and a preloaded run can be compared.
#include <cstdio>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace cxxdemo {

struct Node {
    Node *next;
    char pad[56];
};

struct alignas(256) Aligned {
    char bytes[256];
};

class Grower {
  public:
    // 1000 nodes of 64 bytes, never freed: 64000 bytes under this frame
    __attribute__((noinline)) void grow(int n)
    {
        for (int i = 0; i < n; i++)
            kept_.push_back(new Node());
    }
    std::size_t size() const { return kept_.size(); }

  private:
    std::vector<Node *> kept_;
};

__attribute__((noinline)) long churn()
{
    std::map<std::string, std::vector<int>> m;
    for (int i = 0; i < 5000; i++)
        m["key" + std::to_string(i % 313)].push_back(i);
    long sum = 0;
    for (const auto &kv : m)
        sum += static_cast<long>(kv.first.size() * kv.second.size());
    auto a = std::make_unique<Aligned[]>(16);
    if (reinterpret_cast<std::uintptr_t>(a.get()) % alignof(Aligned) != 0)
        return -1;
    auto arr = std::make_unique<int[]>(1000);
    arr[999] = 7;
    return sum + arr[999];
}

__attribute__((noinline)) int throw_and_catch(int n)
{
    int caught = 0;
    for (int i = 0; i < n; i++) {
        try {
            throw std::runtime_error("failure number " + std::to_string(i));
        } catch (const std::exception &e) {
            caught += e.what()[0] == 'f';
        }
    }
    return caught;
}

} // namespace cxxdemo

int main()
{
    static cxxdemo::Grower g; // kept to the end: its nodes leak at exit
    g.grow(1000);
    std::printf("nodes %zu churn %ld caught %d\n", g.size(), cxxdemo::churn(),
                cxxdemo::throw_and_catch(200));
    return 0;
}
