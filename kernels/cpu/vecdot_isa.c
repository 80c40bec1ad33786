/* vecdot_isa: which kernels run (vecdot.h's ISA and kernel-path API): the
 * CPU's features, detected once (pthread_once), the ISA in use and its
 * ceiling, the feature mask the paths set, and $LOGITLAB_ISA.
 *
 * The only mutable state is the ISA in use (`isa_cur`, set by vd_init or
 * vd_set_isa; -1 until then, in which case the first call detects it) and
 * the feature mask beside it. isa_cur is atomic: contexts are created on
 * several threads at once (each backend calls vd_init), and TSAN flagged
 * the plain stores. Split from vecdot.c (session 10) when the kernel paths
 * took it past 800 lines; vecdot.c keeps the kernels and the drivers.
 */
#include "vecdot.h"
#include "qtypes.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

static atomic_int isa_cur = -1;
static int isa_top = -1;   /* written once, under detect_once */
static atomic_int isa_cap = VD_AVX512;   /* vd_limit_isa's ceiling */
static pthread_once_t detect_once = PTHREAD_ONCE_INIT;
static int has_vnni;   /* AVX512-VNNI: with AVX-512 in use the eight-wide kernels take vpdpbusd */

/* ---- ISA selection --------------------------------------------------------- */

#if defined(__x86_64__) || defined(__i386__)
/* F16C straight from CPUID leaf 1 (ECX bit 29): clang 14's
 * __builtin_cpu_supports does not know "f16c". The OS-state check for the
 * YMM registers it needs is covered by the "avx2" test. */
static int has_f16c(void) {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c >> 29 & 1);
}
/* AVX512_VNNI from CPUID leaf 7 (ECX bit 11). */
static int cpu_vnni(void) {
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c >> 11 & 1);
}
/* AVX-VNNI (the VEX vpdpbusd) from leaf 7 subleaf 1, EAX bit 4 (Intel SDM
 * vol. 2, CPUID); subleaf 1 exists when leaf 7 subleaf 0 reports EAX >= 1.
 * The YMM state it needs is covered by the "avx2" test. */
static int cpu_avxvnni(void) {
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && a >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d) &&
           (a >> 4 & 1);
}
/* AMX-TILE and AMX-INT8 from CPUID leaf 7 EDX bits 24 and 25 (Intel SDM
 * vol. 2, CPUID), and the tile data state granted by Linux (it is off until
 * a process asks: arch_prctl(ARCH_REQ_XCOMP_PERM = 0x1023,
 * XFEATURE_XTILEDATA = 18), Documentation/arch/x86/xstate.rst); a refusal
 * (an old kernel, a seccomp filter) leaves AMX unused. */
static int cpu_amx(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d >> 24 & 1) || !(d >> 25 & 1)) return 0;
#if defined(__linux__) && defined(__x86_64__) && defined(SYS_arch_prctl)
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
    return 0;
#endif
}
#endif

/* VD_CPU_* detected (set with the ISA, once) and those in use
 * (vd_set_cpu_features; atomic builtins: read by the pool's threads). */
static unsigned feat_top, feat_cur;

static int detect(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    has_vnni = cpu_vnni();
    feat_top = (has_vnni ? VD_CPU_AVX512VNNI : 0u) | (cpu_avxvnni() ? VD_CPU_AVXVNNI : 0u) |
               (vd_r8_amx(QT_Q4_K) && cpu_amx() ? VD_CPU_AMX : 0u);
    __atomic_store_n(&feat_cur, feat_top, __ATOMIC_RELAXED);
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
    if (vd_backend_avx512() && avx2 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
        return VD_AVX512;
    if (vd_backend_avx2() && avx2) return VD_AVX2;
#endif
    return VD_PORTABLE;
}

/* Each path's ISA level and VNNI features (vecdot.h, "kernel paths"). */
static const struct { const char *name; int isa; unsigned feat; } PATHS[VD_NPATHS] = {
    [VD_PATH_PORTABLE] = { "portable", VD_PORTABLE, 0 },
    [VD_PATH_AVX2] = { "avx2", VD_AVX2, 0 },
    [VD_PATH_AVXVNNI] = { "avx-vnni", VD_AVX2, VD_CPU_AVXVNNI },
    [VD_PATH_AVX512] = { "avx512", VD_AVX512, 0 },
    [VD_PATH_AVX512VNNI] = { "avx512-vnni", VD_AVX512, VD_CPU_AVX512VNNI },   /* AVX-VNNI or not: same kernels */
    [VD_PATH_AMX] = { "avx512-amx", VD_AVX512, VD_CPU_AVX512VNNI | VD_CPU_AMX },
};
/* The features a path keeps of those detected: its own, and for the VNNI
 * paths AVX-VNNI too where the CPU has it (the same kernels either way). */
static unsigned path_mask(int p) {
    return p == VD_PATH_AMX ? ~0u : p == VD_PATH_AVX512VNNI ? ~(unsigned)VD_CPU_AMX : PATHS[p].feat;
}
static const char *env_bad;   /* LOGITLAB_ISA when it names no path (written once, under detect_once) */

/* The CPU, then LOGITLAB_ISA's cap: at most that path's ISA level and
 * features, as if the CPU had no more (an operator's or CI's switch to run
 * a path a CPU without the higher ones runs). */
static void detect_top(void) {
    isa_top = detect();
    const char *e = getenv("LOGITLAB_ISA");
    if (!e || !*e) return;
    int p = vd_path_parse(e);
    if (p < 0) { env_bad = e; return; }
    if (isa_top > PATHS[p].isa) isa_top = PATHS[p].isa;
    feat_top &= path_mask(p);
    __atomic_store_n(&feat_cur, feat_top, __ATOMIC_RELAXED);
}

/* The CPU's best ISA under vd_limit_isa's ceiling. */
static int best_isa(void) {
    pthread_once(&detect_once, detect_top);
    int cap = atomic_load_explicit(&isa_cap, memory_order_relaxed);
    return isa_top < cap ? isa_top : cap;
}

void vd_init(void) {
    atomic_store_explicit(&isa_cur, best_isa(), memory_order_relaxed);
}

int vd_isa_best(void) { return best_isa(); }

int vd_limit_isa(int isa) {
    atomic_store_explicit(&isa_cap, isa < VD_PORTABLE ? VD_PORTABLE : isa, memory_order_relaxed);
    vd_init();
    return vd_isa();
}

int vd_set_isa(int isa) {
    int top = vd_isa_best();
    int cur = isa < VD_PORTABLE ? VD_PORTABLE : isa > top ? top : isa;
    atomic_store_explicit(&isa_cur, cur, memory_order_relaxed);
    return cur;
}

int vd_isa(void) {
    int cur = atomic_load_explicit(&isa_cur, memory_order_relaxed);
    if (cur < 0) { vd_init(); cur = atomic_load_explicit(&isa_cur, memory_order_relaxed); }
    return cur;
}

const char *vd_isa_name(int isa) {
    switch (isa) {
    case VD_PORTABLE: return "portable";
    case VD_AVX2: return "avx2";
    case VD_AVX512: return "avx512";
    default: return "?";
    }
}

unsigned vd_cpu_features(void) {
    vd_isa_best();   /* detects the CPU once */
    return __atomic_load_n(&feat_cur, __ATOMIC_RELAXED);
}

unsigned vd_set_cpu_features(unsigned mask) {
    vd_isa_best();
    unsigned f = feat_top & mask;
    __atomic_store_n(&feat_cur, f, __ATOMIC_RELAXED);
    return f;
}

int vd_r8_path(int isa, unsigned feat) {
    if (isa >= VD_AVX512 && (feat & VD_CPU_AVX512VNNI)) return feat & VD_CPU_AMX ? VD_R8_AMX : VD_R8_AVX512VNNI;
    if (isa >= VD_AVX2 && (feat & VD_CPU_AVXVNNI)) return VD_R8_AVXVNNI;
    return isa >= VD_AVX2 ? VD_R8_AVX2 : VD_R8_NONE;
}

const char *vd_r8_path_name(int path) {
    switch (path) {
    case VD_R8_NONE: return "none";
    case VD_R8_AVX2: return "avx2";
    case VD_R8_AVXVNNI: return "avx-vnni";
    case VD_R8_AVX512VNNI: return "avx512-vnni";
    case VD_R8_AMX: return "amx";
    default: return "?";
    }
}

const char *vd_path_name(int path) { return path >= 0 && path < VD_NPATHS ? PATHS[path].name : "?"; }

int vd_path_parse(const char *name) {
    for (int p = 0; name && p < VD_NPATHS; p++)
        if (!strcmp(name, PATHS[p].name)) return p;
    return -1;
}

bool vd_path_ok(int path) {
    if (path < 0 || path >= VD_NPATHS) return false;
    pthread_once(&detect_once, detect_top);
    return isa_top >= PATHS[path].isa && (feat_top & PATHS[path].feat) == PATHS[path].feat;
}

int vd_path_best(void) {
    int p = VD_NPATHS - 1;
    while (p > 0 && !vd_path_ok(p)) p--;
    return p;
}

bool vd_set_path(int path) {
    if (!vd_path_ok(path)) return false;
    vd_set_cpu_features(path_mask(path));
    vd_limit_isa(PATHS[path].isa);
    return true;
}

int vd_path(void) {
    int isa = vd_isa();
    unsigned f = vd_cpu_features();
    if (isa >= VD_AVX512)
        return !(f & VD_CPU_AVX512VNNI) ? VD_PATH_AVX512 : f & VD_CPU_AMX ? VD_PATH_AMX : VD_PATH_AVX512VNNI;
    if (isa >= VD_AVX2) return f & VD_CPU_AVXVNNI ? VD_PATH_AVXVNNI : VD_PATH_AVX2;
    return VD_PATH_PORTABLE;
}

const char *vd_env_bad(void) {
    pthread_once(&detect_once, detect_top);
    return env_bad;
}
