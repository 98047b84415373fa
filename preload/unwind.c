/*
 * preload/unwind.c: full native stacks at a few nanoseconds a frame, with
 * libunwind as the source of truth.
 *
 * Strategy.  Two facts make most of the work of unwinding repeat itself:
 *
 *   1. The rule that finds a frame's caller depends only on the frame's pc.
 *      At a call site, compiled code keeps its canonical frame address (CFA:
 *      the caller's stack pointer) either at a fixed distance above the
 *      stack pointer, or at rbp + 16 when the function keeps a frame
 *      pointer; the return address sits at CFA - 8, and the caller's rbp is
 *      either untouched or saved at a fixed place below the CFA.  So a
 *      thread learns each pc's rule once, by watching libunwind step over
 *      that frame (unw_step, which reads the DWARF call-frame information),
 *      and afterwards applies it itself: a hash probe, an add, two loads.
 *      (A return address met for the first time costs one unw_step from
 *      a context holding that frame's registers, not a walk.)
 *      This is the idea of libunwind's own fast trace, applied here with
 *      the rules kept in our own table so that the walk can also do (2).
 *   2. Consecutive stacks of a thread share their outer frames.  The walk
 *      keeps the previous stack's frames: pc, stack pointer, rbp, and the
 *      stack slots each caller was read from.  When the new walk reaches a
 *      frame with the same pc, stack pointer and rbp as a frame of the
 *      previous stack, and every slot the previous walk read above it still
 *      holds what it held, the rest of the walk would read the same words
 *      and apply the same rules: the outer frames are copied, not walked.
 *      (Checking the slots is what makes this exact: main calling A then B,
 *      each calling f at the same depth, puts f's frame at the same place
 *      with the same pc; only the return address slot above it differs.)
 *
 *       new:   malloc caller  make  make  | make  make ... main  libc
 *              walked by the rules ------>| checked, copied from prev
 *       prev:          make  make  make   | make  make ... main  libc
 *
 *   Binary trees (depth 14): about 2 frames walked and 18 checked per
 *   allocation, against 20 frames of unw_backtrace.
 *
 * Where a rule cannot be learned (a signal frame, a CFA that is not the
 * stack pointer after the step, a return address not at CFA - 8), the pc is
 * marked slow, and a walk that meets it is done by libunwind.  A walk that
 * leaves the thread's stack also falls back to libunwind, and one that
 * starts on another stack (a coroutine's, a signal stack) is
 * unw_backtrace's alone: every address read is between the walk's own frame
 * and the top of the thread's stack, so always mapped.  Rules are
 * forgotten when a dlopen may have mapped new code at an old address
 * (pl_unwind_epoch).  x86-64 only; elsewhere every walk is unw_backtrace.
 *
 * The numbers: 16384 rules a thread (16 bytes each), a walk of at most
 * `max` frames (the capture depth, 64 by default).  Binary trees (depth 14)
 * under callgrind: 439 instructions an allocation for pl_on_alloc with this
 * walk inlined (478 before the walk's state stayed in registers and its
 * frames went to the caller as they are found).
 */
#include <string.h>
#include <ucontext.h>

#include "libs.h"
#include "preload.h"

uint32_t pl_unwind_epoch;

/* libunwind's own walk (unw_backtrace), without this library's frames. */
static int backtrace_plain(uintptr_t *frames, int max)
{
    uintptr_t raw[CAP_MAX_FRAMES + 8];
    int want = max + 8 > (int)OM_ARRAY_LEN(raw) ? (int)OM_ARRAY_LEN(raw) : max + 8;
    int n = unw_backtrace((void **)raw, want), skip = 0;
    while (skip < n && pl_in_self(raw[skip]))
        skip++;
    int keep = n - skip < max ? n - skip : max;
    memcpy(frames, raw + skip, (size_t)keep * sizeof *frames);
    return keep;
}

#if defined(__x86_64__)

/* A frame the walk is in: its pc, stack pointer and rbp. */
typedef struct state {
    uintptr_t ip, sp, bp;
} state;

/* ---- the rules ---------------------------------------------------------------- */
static inline size_t rule_home(uintptr_t ip)
{
    return (size_t)((ip * 0x9e3779b97f4a7c15ull) >> (64 - PL_RULE_BITS));
}

/* The rule of ip, or NULL when none was learned. */
static inline const pl_rule *rule_find(const pl_unwind *u, uintptr_t ip)
{
    for (size_t i = rule_home(ip);; i = (i + 1) & (PL_RULE_SLOTS - 1)) {
        const pl_rule *r = &u->rules[i];
        if (r->ip == ip)
            return r;
        if (!r->ip)
            return NULL;
    }
}

static void rules_forget(pl_unwind *u)
{
    memset(u->rules, 0, sizeof u->rules);
    u->rules_used = 0;
    u->prev_n = 0;
}

static void rule_add(pl_unwind *u, uintptr_t ip, int kind, intptr_t cfa, intptr_t rbp)
{
    if (u->rules_used >= PL_RULE_SLOTS / 4 * 3)
        rules_forget(u);
    size_t i = rule_home(ip);
    while (u->rules[i].ip && u->rules[i].ip != ip)
        i = (i + 1) & (PL_RULE_SLOTS - 1);
    if (!u->rules[i].ip)
        u->rules_used++;
    u->rules[i] =
        (pl_rule){.ip = ip, .cfa = (int32_t)cfa, .rbp = (int16_t)rbp, .kind = (uint8_t)kind};
}

/* What libunwind's step from frame a to its caller b shows about a's pc.
 * saved: where b's rbp was read (0: rbp not saved by a). */
static int learn(pl_unwind *u, const state *a, const state *b, uintptr_t saved)
{
    uintptr_t cfa = b->sp;
    intptr_t size = (intptr_t)(cfa - a->sp);
    int kind = PL_RULE_SLOW;
    intptr_t off = saved ? (intptr_t)(saved - cfa) : 0;
    if (cfa > a->sp && cfa <= u->stack_hi && size < (1 << 24) &&
        *(const uintptr_t *)(cfa - 8) == b->ip) {
        if (a->bp == cfa - 16 && saved == cfa - 16)
            kind = PL_RULE_FP;
        else if (saved ? off < 0 && off >= -32768 : a->bp == b->bp)
            kind = PL_RULE_SP;
    }
    rule_add(u, a->ip, kind, size, off);
    return kind;
}

/* Stores fresh[0..n) (innermost first) above prev[0..keep) as the previous
 * stack.  checked: the chain is known to stay on this thread's stack, going
 * up (walk_rules' steps make sure of it); else it is checked here, and only
 * a chain that passes is kept for outer_unchanged to read. */
static inline __attribute__((always_inline)) void
keep_prev(pl_unwind *u, int keep, const pl_frame *fresh, int n, bool checked)
{
    for (int i = 0; i < n; i++) {
        pl_frame *f = &u->prev[keep + i];
        *f = fresh[n - 1 - i];
        f->bp_matters = f->uses_bp || (keep + i > 0 && f[-1].bp_matters);
    }
    int total = keep + n;
    for (int k = total - 1; k > 0 && !checked; k--) {
        const pl_frame *in = &u->prev[k], *up = &u->prev[k - 1];
        if (up->sp <= in->sp || up->sp > u->stack_hi ||
            (in->bp_slot && (in->bp_slot < in->sp || in->bp_slot >= up->sp))) {
            total = 0;
            break;
        }
    }
    u->prev_n = total;
}

/* ---- the walk with libunwind, which learns -------------------------------------- */
/* Walks the whole stack with unw_step, learning the rule of every frame
 * outside this library; leaves the stack in u->prev.  Returns the frames
 * written to out (innermost first). */
static OM_NOINLINE int walk_learning(pl_unwind *u, uintptr_t *out, int max)
{
    unw_context_t uc;
    unw_cursor_t c;
    pl_frame fresh[PL_FRAMES_CAP];
    int n = 0;
    bool complete = false;
    u->slow_walks++;
    if (unw_getcontext(&uc) != 0 || unw_init_local(&c, &uc) != 0)
        goto done;
    for (int guard = 0; guard < max + 64; guard++) {
        unw_word_t ip, sp, bp;
        unw_save_loc_t before, after;
        unw_get_reg(&c, UNW_REG_IP, &ip);
        unw_get_reg(&c, UNW_REG_SP, &sp);
        unw_get_reg(&c, UNW_X86_64_RBP, &bp);
        bool ours = pl_in_self(ip), signal = unw_is_signal_frame(&c) > 0;
        if (!ours && n == max)
            break;
        if (unw_get_save_loc(&c, UNW_X86_64_RBP, &before) != 0)
            before.type = UNW_SLT_NONE;
        int rc = unw_step(&c);
        state a = {ip, sp, bp}, b = {0, 0, 0};
        uintptr_t saved = 0;
        if (rc > 0) {
            unw_get_reg(&c, UNW_REG_IP, &ip);
            unw_get_reg(&c, UNW_REG_SP, &sp);
            unw_get_reg(&c, UNW_X86_64_RBP, &bp);
            b = (state){ip, sp, bp};
            if (unw_get_save_loc(&c, UNW_X86_64_RBP, &after) == 0 && after.type == UNW_SLT_MEMORY &&
                (before.type != UNW_SLT_MEMORY || before.u.addr != after.u.addr))
                saved = after.u.addr;
        }
        if (!ours) {
            int kind = signal || rc < 0 ? PL_RULE_SLOW : rc == 0 ? PL_RULE_END : 0;
            if (kind)
                rule_add(u, a.ip, kind, 0, 0);
            else
                kind = learn(u, &a, &b, saved);
            out[n] = a.ip;
            fresh[n++] = (pl_frame){
                a.ip, a.sp, a.bp, saved, kind != PL_RULE_SP && kind != PL_RULE_END, false};
        }
        if (rc <= 0) {
            complete = true;
            break;
        }
    }
done:
    keep_prev(u, 0, fresh, n, false);
    u->prev_complete = complete;
    return n;
}

/* The rule of frame s, learned from one step of libunwind started there: a
 * context holding s's pc, stack pointer and rbp is all that the rules of
 * compiled code read (the other registers only matter inside prologues and
 * signal frames, which are no return addresses, or are marked slow).  A new
 * return address costs one step, not a walk of the whole stack.  The frame
 * comes by value: walk_rules never takes the address of its state, which
 * then stays in registers (binary trees under callgrind: 478 instructions
 * an allocation in the recorder and unwinder, 460 since). */
static OM_NOINLINE const pl_rule *learn_one(pl_unwind *u, state at)
{
    const state *s = &at;
    unw_context_t uc;
    unw_cursor_t c;
    unw_save_loc_t before, after;
    memset(&uc, 0, sizeof uc);
    /* The registers not known here point at the frame's stack, so that CFI
     * that would read through one reads mapped memory (and a rule that
     * comes out wrong fails learn's checks) rather than address 0. */
    for (int i = 0; i < NGREG; i++)
        uc.uc_mcontext.gregs[i] = (greg_t)s->sp;
    uc.uc_mcontext.gregs[REG_RIP] = (greg_t)s->ip;
    uc.uc_mcontext.gregs[REG_RSP] = (greg_t)s->sp;
    uc.uc_mcontext.gregs[REG_RBP] = (greg_t)s->bp;
    if (unw_init_local(&c, &uc) != 0)
        return NULL;
    if (unw_get_save_loc(&c, UNW_X86_64_RBP, &before) != 0)
        before.type = UNW_SLT_NONE;
    int signal = unw_is_signal_frame(&c) > 0, rc = unw_step(&c);
    if (signal || rc < 0) {
        rule_add(u, s->ip, PL_RULE_SLOW, 0, 0);
    } else if (rc == 0) {
        rule_add(u, s->ip, PL_RULE_END, 0, 0);
    } else {
        unw_word_t ip, sp, bp;
        unw_get_reg(&c, UNW_REG_IP, &ip);
        unw_get_reg(&c, UNW_REG_SP, &sp);
        unw_get_reg(&c, UNW_X86_64_RBP, &bp);
        state b = {ip, sp, bp};
        uintptr_t saved = 0;
        if (unw_get_save_loc(&c, UNW_X86_64_RBP, &after) == 0 && after.type == UNW_SLT_MEMORY &&
            (before.type != UNW_SLT_MEMORY || before.u.addr != after.u.addr))
            saved = after.u.addr;
        learn(u, s, &b, saved);
    }
    u->learned++;
    return rule_find(u, s->ip);
}

/* ---- the walk by the rules ------------------------------------------------------ */
/* Do the slots the previous walk read above its frame m (outermost first
 * indexing) still hold what they held?  (keep_prev made sure that those
 * slots lie on this thread's stack, above prev[m].)  An rbp read counts only
 * where a rule further out uses rbp (bp_matters): past the last such frame,
 * the frames follow from the stack pointers and return addresses alone. */
static bool outer_unchanged(const pl_unwind *u, int m)
{
    int k = m;
    for (; k > 0 && u->prev[k - 1].bp_matters; k--) {
        const pl_frame *in = &u->prev[k], *up = &u->prev[k - 1];
        if (*(const uintptr_t *)(up->sp - 8) != up->ip)
            return false;
        if (in->bp_slot && *(const uintptr_t *)in->bp_slot != up->bp)
            return false;
    }
    for (; k > 0; k--) {
        const pl_frame *up = &u->prev[k - 1];
        if (*(const uintptr_t *)(up->sp - 8) != up->ip)
            return false;
    }
    return true;
}

/* One step by the rule r from frame s; false when the step leaves the stack. */
static inline bool step(const pl_unwind *u, const pl_rule *r, state *s, uintptr_t *slot)
{
    uintptr_t cfa = r->kind == PL_RULE_FP ? s->bp + 16 : s->sp + (uintptr_t)(intptr_t)r->cfa;
    if (OM_UNLIKELY(cfa <= s->sp || cfa > u->stack_hi || (cfa & 7)))
        return false;
    *slot = r->kind == PL_RULE_FP ? cfa - 16 : r->rbp ? cfa + (uintptr_t)(intptr_t)r->rbp : 0;
    if (OM_UNLIKELY(*slot && *slot < s->sp))
        return false;
    s->ip = *(const uintptr_t *)(cfa - 8);
    s->sp = cfa;
    if (*slot)
        s->bp = *(const uintptr_t *)*slot;
    return true;
}

/* The walk from s (the first frame outside this library).  -1 when it needs
 * libunwind.  *shared: how many outer frames of out are those of the
 * previous capture; inner_only: out[] gets only the others. */
static int walk_rules(pl_unwind *u, state s, uintptr_t *out, int max, int *shared, bool inner_only)
{
    pl_frame fresh[PL_FRAMES_CAP];
    int n = 0, m = u->prev_n - 1; /* prev[m]: the innermost frame not below s */
    for (;;) {
        while (m >= 0 && u->prev[m].sp < s.sp)
            m--;
        if (m >= 0 && u->prev[m].sp == s.sp && u->prev[m].ip == s.ip &&
            (u->prev[m].bp == s.bp || !u->prev[m].bp_matters) && m + 1 + n <= PL_FRAMES_CAP &&
            (u->prev_complete || m + 1 + n >= max) && outer_unchanged(u, m)) {
            break; /* prev[0..m] stay: the outer frames */
        }
        if (n == max) { /* cut at max: nothing of prev stays */
            m = -1;
            u->prev_complete = false;
            break;
        }
        const pl_rule *r = rule_find(u, s.ip);
        if (OM_UNLIKELY(!r))
            r = learn_one(u, s);
        if (!r || r->kind == PL_RULE_SLOW)
            return -1;
        uintptr_t slot = 0;
        fresh[n] = (pl_frame){s.ip, s.sp, s.bp, 0, r->kind == PL_RULE_FP, false};
        out[n] = s.ip; /* n < max: out holds max frames */
        if (r->kind == PL_RULE_END) {
            n++;
            m = -1;
            u->prev_complete = true;
            break;
        }
        if (!step(u, r, &s, &slot))
            return -1;
        fresh[n++].bp_slot = slot;
    }
    int total = m + 1 + n, before = u->prev_n;
    keep_prev(u, m + 1, fresh, n, true);
    int keep = total < max ? total : max;
    /* Neither stack cut at max: the outer m + 1 frames are those of the
     * previous capture, in the same places of both, and the caller that
     * asks only for the others (inner_only) gets only those. */
    *shared = total <= max && before <= max ? m + 1 : 0;
    if (inner_only && *shared)
        return keep; /* out[0 .. n) holds them already, written by the walk */
    for (int i = 0; i < keep; i++)
        out[i] = u->prev[total - 1 - i].ip;
    return keep;
}

/* The first frame outside this library, found from entry through this
 * library's own frame pointers (it is built with them, and its functions
 * that have no frame leave rbp alone): the return address, the stack
 * pointer after the return, the caller's rbp as our frame saved it. */
static inline bool first_frame(const pl_unwind *u, const void *entry, state *s)
{
    const uintptr_t *fp = entry;
    uintptr_t lo = (uintptr_t)__builtin_frame_address(0);
    for (int i = 0; i < 16; i++) {
        if ((uintptr_t)fp < lo || (uintptr_t)fp + 16 > u->stack_hi || ((uintptr_t)fp & 7))
            return false;
        if (!pl_in_self(fp[1])) {
            *s = (state){fp[1], (uintptr_t)(fp + 2), fp[0]};
            return true;
        }
        const uintptr_t *next = (const uintptr_t *)fp[0];
        if (next <= fp)
            return false;
        fp = next;
    }
    return false;
}

int pl_unwind_capture(pl_unwind *u, uintptr_t *frames, int max, int *shared, const void *entry,
                      bool inner_only)
{
    *shared = 0;
    uint32_t epoch = __atomic_load_n(&pl_unwind_epoch, __ATOMIC_RELAXED);
    if (OM_UNLIKELY(u->epoch != epoch)) {
        rules_forget(u);
        u->epoch = epoch;
    }
    state s;
    uintptr_t at = (uintptr_t)entry;
    if (OM_UNLIKELY(at < u->stack_lo || at >= u->stack_hi)) {
        /* another stack (a coroutine's, sigaltstack) or none known: the
         * rules' bounds do not hold there */
        u->prev_n = 0;
        return backtrace_plain(frames, max);
    }
    if (OM_LIKELY(first_frame(u, entry, &s))) {
        int n = walk_rules(u, s, frames, max, shared, inner_only);
        if (OM_LIKELY(n >= 0))
            return n;
    }
    return walk_learning(u, frames, max);
}

#else

int pl_unwind_capture(pl_unwind *u, uintptr_t *frames, int max, int *shared, const void *entry,
                      bool inner_only)
{
    (void)u;
    (void)entry;
    (void)inner_only;
    *shared = 0;
    return backtrace_plain(frames, max);
}

#endif
