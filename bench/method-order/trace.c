// trace OUT SYMBOLS -- PROGRAM ARGS...
// Runs PROGRAM under ptrace with a one-shot breakpoint (int3) on the entry of every method listed in
// SYMBOLS ("hexoffset name" lines, offsets from the executable's load address) and appends each
// method's name to OUT the first time any thread enters it: the order in which the program first
// calls its methods. Threads stop independently (no all-stop), so start-up stays fast enough for the
// daemon's own timeouts. SIGTERM to the tracer is passed to the program; the program dies with the
// tracer (PTRACE_O_EXITKILL). Build: gcc -O2 -o trace trace.c
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

struct bp { unsigned long addr; char *name; unsigned char orig; int armed; };
static struct bp *bps;
static size_t nbps;
static pid_t child;

static int by_addr(const void *a, const void *b)
{
    unsigned long x = ((const struct bp *)a)->addr, y = ((const struct bp *)b)->addr;
    return x < y ? -1 : x > y;
}

static struct bp *find(unsigned long addr)
{
    size_t lo = 0, hi = nbps;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (bps[mid].addr == addr) return &bps[mid];
        if (bps[mid].addr < addr) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

static void forward_term(int sig) { (void)sig; if (child > 0) kill(child, SIGTERM); }

int main(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: trace OUT SYMBOLS -- PROGRAM ARGS...\n");
        return 64;
    }
    FILE *out = fopen(argv[1], "a");
    FILE *syms = fopen(argv[2], "r");
    if (!out || !syms) { perror("trace: open"); return 1; }
    size_t cap = 65536;
    bps = malloc(cap * sizeof *bps);
    char line[8192];
    while (fgets(line, sizeof line, syms)) {
        char *space = strchr(line, ' ');
        if (!space) continue;
        *space = 0;
        space[strcspn(space + 1, "\n") + 1] = 0;
        if (nbps == cap) bps = realloc(bps, (cap *= 2) * sizeof *bps);
        bps[nbps].addr = strtoul(line, NULL, 16);
        bps[nbps].name = strdup(space + 1);
        bps[nbps].armed = 0;
        nbps++;
    }
    fclose(syms);

    child = fork();
    if (child == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        execv(argv[4], argv + 4);
        perror("trace: exec");
        _exit(127);
    }
    signal(SIGTERM, forward_term);
    int status;
    if (waitpid(child, &status, 0) < 0 || !WIFSTOPPED(status)) { fprintf(stderr, "trace: exec failed\n"); return 1; }
    ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL);

    // The executable is mapped at exec: its first mapping is the load address.
    char path[64], exe[4096], maps_line[8192];
    snprintf(path, sizeof path, "/proc/%d/exe", child);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    snprintf(path, sizeof path, "/proc/%d/maps", child);
    FILE *maps = fopen(path, "r");
    unsigned long base = 0;
    while (fgets(maps_line, sizeof maps_line, maps)) {
        size_t len = strcspn(maps_line, "\n");
        maps_line[len] = 0;
        if (len >= strlen(exe) && strcmp(maps_line + len - strlen(exe), exe) == 0) { base = strtoul(maps_line, NULL, 16); break; }
    }
    fclose(maps);
    snprintf(path, sizeof path, "/proc/%d/mem", child);
    int mem = open(path, O_RDWR);
    if (!base || mem < 0) { fprintf(stderr, "trace: cannot find or open %s\n", exe); return 1; }
    unsigned char int3 = 0xcc;
    // Sorted, and one breakpoint per address, which records every name at that address, one a line.
    // Several names share an address when a runtime export has its own symbol beside the method's
    // (RhNewObject and S_P_CoreLib_System_Runtime_RuntimeExports__RhNewObject, InitializeModules,
    // __managed__Main and the module's StartupCodeMain, ...) or method bodies are folded: ILC orders
    // by the method's own (mangled) name, and an export name alone left those methods in the cold part.
    qsort(bps, nbps, sizeof *bps, by_addr);
    size_t kept = 0;
    for (size_t i = 0; i < nbps; i++) {
        if (kept > 0 && bps[kept - 1].addr == bps[i].addr) {
            struct bp *k = &bps[kept - 1];
            size_t a = strlen(k->name), b = strlen(bps[i].name);
            k->name = realloc(k->name, a + b + 2);
            k->name[a] = '\n';
            memcpy(k->name + a + 1, bps[i].name, b + 1);
            free(bps[i].name);
            continue;
        }
        bps[kept++] = bps[i];
    }
    nbps = kept;
    for (size_t i = 0; i < nbps; i++) {
        bps[i].addr += base;
        if (pread(mem, &bps[i].orig, 1, bps[i].addr) == 1 && pwrite(mem, &int3, 1, bps[i].addr) == 1) bps[i].armed = 1;
    }
    ptrace(PTRACE_CONT, child, 0, 0);

    for (;;) {
        pid_t tid = waitpid(-1, &status, __WALL);
        if (tid < 0) { if (errno == EINTR) continue; break; }
        if (WIFEXITED(status) || WIFSIGNALED(status)) { if (tid == child) break; continue; }
        if (!WIFSTOPPED(status)) continue;
        int sig = WSTOPSIG(status);
        if (status >> 16) { ptrace(PTRACE_CONT, tid, 0, 0); continue; }  // clone event
        if (sig == SIGSTOP) { ptrace(PTRACE_CONT, tid, 0, 0); continue; } // a new thread's first stop
        if (sig == SIGTRAP) {
            siginfo_t si;
            ptrace(PTRACE_GETSIGINFO, tid, 0, &si);
            struct user_regs_struct regs;
            ptrace(PTRACE_GETREGS, tid, 0, &regs);
            struct bp *b = si.si_code == SI_KERNEL ? find(regs.rip - 1) : NULL;
            if (b) {
                if (b->armed) {
                    pwrite(mem, &b->orig, 1, b->addr);
                    b->armed = 0;
                    fprintf(out, "%s\n", b->name);
                    fflush(out);
                }
                regs.rip -= 1;  // run the restored instruction (another thread may have restored it first)
                ptrace(PTRACE_SETREGS, tid, 0, &regs);
                ptrace(PTRACE_CONT, tid, 0, 0);
                continue;
            }
        }
        ptrace(PTRACE_CONT, tid, 0, sig);
    }
    fclose(out);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
