/*
 * Checks src/KvmUdevAgent/Native/libm-on-demand.c against glibc's libm (Issue15_LibmOnDemandTests
 * builds this file with it, without -lm):
 * - floor and ceil are exact: bit for bit libm's results, signed zeros, NaN and infinities included;
 * - libm is loaded by the first forwarded call, not before (floor and ceil never load it);
 * - pow, sin, cos and log give libm's own results, bit for bit.
 * Prints one line per disagreement (at most 20) and a summary; exits 1 on any.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

double floor(double);
double ceil(double);
double pow(double, double);
double sin(double);
double cos(double);
double log(double);

static int failures;

static int same(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    return x == y || (a != a && b != b);
}

static void expect(const char *what, double x, double got, double want)
{
    if (!same(got, want) && failures++ < 20) {
        printf("%s(%a) = %a, libm says %a\n", what, x, got, want);
    }
}

/* xorshift64: the same values every run. */
static uint64_t state = 0x9e3779b97f4a7c15u;
static uint64_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static double any_double(void)
{
    uint64_t bits = next();
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

int main(void)
{
    static const double edges[] = {
        0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 2.5, -2.5, 0.9999999999999999, -0.9999999999999999,
        0x1p-1074, -0x1p-1074, 0x1p52, -0x1p52, 0x1p52 - 0.5, -(0x1p52 - 0.5), 0x1p53 + 2, -(0x1p53 + 2),
        0x1p63, -0x1p63, 1e300, -1e300, 4503599627370495.5, -4503599627370495.5, __builtin_inf(),
        -__builtin_inf(), __builtin_nan(""),
    };

    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        (void)floor(edges[i]);
        (void)ceil(edges[i]);
    }

    if (dlopen("libm.so.6", RTLD_LAZY | RTLD_NOLOAD) != NULL) {
        printf("libm.so.6 is loaded before any forwarded call\n");
        failures++;
    }

    (void)sin(1.0);
    if (dlopen("libm.so.6", RTLD_LAZY | RTLD_NOLOAD) == NULL) {
        printf("libm.so.6 is not loaded after sin()\n");
        failures++;
    }

    void *libm = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
    double (*libm_floor)(double) = (double (*)(double))dlsym(libm, "floor");
    double (*libm_ceil)(double) = (double (*)(double))dlsym(libm, "ceil");
    double (*libm_sin)(double) = (double (*)(double))dlsym(libm, "sin");
    double (*libm_cos)(double) = (double (*)(double))dlsym(libm, "cos");
    double (*libm_log)(double) = (double (*)(double))dlsym(libm, "log");
    double (*libm_pow)(double, double) = (double (*)(double, double))dlsym(libm, "pow");

    long checked = 0;
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++, checked++) {
        double x = edges[i];
        expect("floor", x, floor(x), libm_floor(x));
        expect("ceil", x, ceil(x), libm_ceil(x));
        expect("sin", x, sin(x), libm_sin(x));
        expect("cos", x, cos(x), libm_cos(x));
        expect("log", x, log(x), libm_log(x));
        expect("pow(x, 2)", x, pow(x, 2.0), libm_pow(x, 2.0));
    }

    for (long i = 0; i < 2000000; i++, checked++) {
        /* Every bit pattern, and values near the integers (where floor and ceil decide). */
        double x = any_double();
        double near = (double)(int64_t)(next() % 2000001 - 1000000) / (double)(1 + next() % 1024);
        expect("floor", x, floor(x), libm_floor(x));
        expect("ceil", x, ceil(x), libm_ceil(x));
        expect("floor", near, floor(near), libm_floor(near));
        expect("ceil", near, ceil(near), libm_ceil(near));
        if (i % 64 == 0) {
            expect("sin", near, sin(near), libm_sin(near));
            expect("cos", near, cos(near), libm_cos(near));
            expect("log", x, log(x), libm_log(x));
            expect("pow(x, near)", x, pow(x, near), libm_pow(x, near));
        }
    }

    printf("%ld values checked, %d disagreements\n", checked, failures);
    return failures == 0 ? 0 : 1;
}
