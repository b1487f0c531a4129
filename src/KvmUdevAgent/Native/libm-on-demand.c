/*
 * The math functions the NativeAOT image imports, without libm.so.6 at load (issue 15).
 *
 * The image imports seven functions from libm: ceil, floor, modf, pow, sin, cos (CoreLib's Math)
 * and log (the runtime's allocation sampling). Linked with BIND_NOW (full RELRO), ld.so loads libm
 * at start and runs its IFUNC resolvers (libm's own 21 and those of the seven): 0.4-0.5 MiB of
 * libm's pages stayed resident in the idle daemon for functions it hardly calls.
 *
 * The project links this object and drops -lm (KvmUdevAgent.csproj), so:
 * - modf binds to libc's own modf (libc.so.6 exports it);
 * - floor and ceil are here: start-up calls them (number formatting), and they are exact in a few
 *   integer operations;
 * - pow, sin, cos and log are forwarded to libm's own functions, loaded with dlopen at the first call
 *   of any of them: the same code and results as before, and libm is mapped only once one is called.
 *
 * The resolved pointers are published with release stores and read with acquire loads; two threads
 * racing on a first call both resolve the same function (dlopen counts references), which is harmless.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

/* libm, loaded on the first call that needs it; aborts if it cannot be (it is part of libc6). */
static void *libm_symbol(const char *name)
{
    static void *libm;
    void *handle = __atomic_load_n(&libm, __ATOMIC_ACQUIRE);
    if (handle == NULL) {
        handle = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL) {
            fprintf(stderr, "kvm-udev-agent: cannot load libm.so.6 (%s); reinstall libc6\n", dlerror());
            abort();
        }
        __atomic_store_n(&libm, handle, __ATOMIC_RELEASE);
    }

    void *symbol = dlsym(handle, name);
    if (symbol == NULL) {
        fprintf(stderr, "kvm-udev-agent: libm.so.6 has no %s (%s); reinstall libc6\n", name, dlerror());
        abort();
    }

    return symbol;
}

#define FORWARD_1(name)                                                                  \
    double name(double x)                                                                \
    {                                                                                    \
        static double (*target)(double);                                                 \
        double (*f)(double) = __atomic_load_n(&target, __ATOMIC_ACQUIRE);                \
        if (f == NULL) {                                                                 \
            f = (double (*)(double))libm_symbol(#name);                                  \
            __atomic_store_n(&target, f, __ATOMIC_RELEASE);                              \
        }                                                                                \
        return f(x);                                                                     \
    }

FORWARD_1(sin)
FORWARD_1(cos)
FORWARD_1(log)

double pow(double x, double y)
{
    static double (*target)(double, double);
    double (*f)(double, double) = __atomic_load_n(&target, __ATOMIC_ACQUIRE);
    if (f == NULL) {
        f = (double (*)(double, double))libm_symbol("pow");
        __atomic_store_n(&target, f, __ATOMIC_RELEASE);
    }

    return f(x, y);
}

/*
 * floor and ceil: a double of magnitude 2^52 or more is an integer already (as are NaN and the
 * infinities, returned as they are); below that, the conversion to a 64-bit integer truncates
 * toward zero exactly, and one step corrects it. The result always has the sign of x (floor(-0.0)
 * is -0.0, ceil(-0.5) is -0.0), which copysign restores where the integer lost it.
 */
double floor(double x)
{
    if (!(__builtin_fabs(x) < 0x1p52)) {
        return x;
    }

    double t = (double)(long long)x;
    return __builtin_copysign(t > x ? t - 1.0 : t, x);
}

double ceil(double x)
{
    if (!(__builtin_fabs(x) < 0x1p52)) {
        return x;
    }

    double t = (double)(long long)x;
    return __builtin_copysign(t < x ? t + 1.0 : t, x);
}
