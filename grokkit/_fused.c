/* grokkit._fused: the per-example part of one modular-addition training step, fused.
 *
 * For each training pair (a, b) of each model: pre = W_in[a] + W_in[b], h = ReLU(pre),
 * logits = h W_out, the gradient of the article's loss (softmax cross-entropy divided by
 * N p) with respect to the logits, and from it the gradients of the collapsed matrices
 * W_in (p x H, accumulated over a and b) and W_out.T (p x H). The products with the
 * embedding (67 x 500 for PAIR_MODADD) stay in torch (MKL), where they are fast; this file
 * replaces the dozen small torch operations around them, which on a CPU cost more in
 * passes over memory than in arithmetic.
 *
 * Plain C with GCC/Clang vector extensions, no dependency but Python's headers (and
 * POSIX threads where there are any). The rows are summed in a fixed order, as two halves
 * added at the end, so a model's result depends neither on which other models share its
 * batch nor on whether a helper thread sums the second half on another CPU. It rounds
 * differently from the torch path (its own exp, sums in another order); grokkit.train
 * uses it whenever it is built and the model fits (p <= MAX_CLASSES, H <= MAX_HIDDEN).
 *
 * The kernel is written once for vectors of KW floats and compiled for the widths the
 * processor has: on x86-64 (GCC, clang), 16 (AVX-512), 8 (AVX2 + FMA) and 4 (SSE2), chosen
 * when the module loads; elsewhere (or with -DGROKKIT_ONE_TARGET) one width, from the
 * compiler's target: 16 with AVX-512, 8 with AVX2 and FMA, else 4 (NEON on arm64).
 * (Vectors wider than the processor's are split by the compiler, badly: 16-float vectors
 * on an AVX2 processor ran 20x slower than 8-float ones.) Every width adds the same numbers
 * in the same order: per-lane arithmetic does not depend on the width, and the two sums
 * across lanes (the softmax's maximum and total) are always taken as over 16 lanes, in the
 * same pairwise order. So AVX-512 and AVX2 processors, and arm64 (4 floats, FMA), give the same
 * results bit for bit, built by gcc 11, gcc 12 or clang (tests/test_fused.py; arm64 under
 * qemu); without FMA (SSE2 only), products and sums are rounded separately and the numbers
 * differ.
 *
 * The per-width part is the end of this file, which includes itself once per width.
 */
#ifndef GROKKIT_KW

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
#define GROKKIT_THREADS
#endif

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

/* Supported sizes: p <= 16 * NV16MAX classes, H <= HMAX hidden neurons. */
#define NV16MAX 8
#define HMAX 32
/* Rows per block of W_out's gradient (one bit each in a uint32_t). */
#define BLOCK 32
_Static_assert(BLOCK <= 32, "a block's rows are bits of a uint32_t");

/* One half of one model's rows, the sizes that select the compiled specialization, and
   the half's own gradient accumulators (nzero floats from gV on, zeroed before use). The
   matrices are rows of whole vectors of the width ``run`` was compiled for. */
typedef struct job job_t;
struct job {
    void (*run)(const job_t *);
    int nv16, nh, N, p;
    const float *V, *VT, *Win;
    float *gV, *gWin;
    const int64_t *am, *bm, *ym;
    float scale;
    size_t nzero;
};

#define GROKKIT_CAT_(a, b) a##_##b
#define GROKKIT_CAT(a, b) GROKKIT_CAT_(a, b)

#if defined(__x86_64__) && defined(__GNUC__) && !defined(GROKKIT_ONE_TARGET)
/* The features are named one by one (not arch=x86-64-v4) for GCC before 11. */
#define GROKKIT_KW 16
#define GROKKIT_TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#include "_fused.c"
#undef GROKKIT_KW
#undef GROKKIT_TARGET
#define GROKKIT_KW 8
#define GROKKIT_TARGET __attribute__((target("avx2,fma")))
#include "_fused.c"
#undef GROKKIT_KW
#undef GROKKIT_TARGET
#define GROKKIT_KW 4
#define GROKKIT_TARGET
#include "_fused.c"
#undef GROKKIT_KW
#undef GROKKIT_TARGET
/* The widths this processor runs, widest first; 0 ends the list. */
static int widths[4];
static void find_widths(void)
{
    int n = 0;
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        widths[n++] = 16;
    if (avx2) widths[n++] = 8;
    widths[n++] = 4;
    widths[n] = 0;
}
static void (*job_runner(int kw))(const job_t *)
{
    return kw == 16 ? run_job_16 : kw == 8 ? run_job_8 : run_job_4;
}
#else
#if defined(__AVX512F__)
#define GROKKIT_ONE_WIDTH 16
#elif defined(__AVX2__) && defined(__FMA__)
#define GROKKIT_ONE_WIDTH 8
#else
#define GROKKIT_ONE_WIDTH 4
#endif
#define GROKKIT_KW GROKKIT_ONE_WIDTH
#define GROKKIT_TARGET
#include "_fused.c"
#undef GROKKIT_KW
#undef GROKKIT_TARGET
static int widths[2];
static void find_widths(void) { widths[0] = GROKKIT_ONE_WIDTH; widths[1] = 0; }
static void (*job_runner(int kw))(const job_t *)
{
    (void)kw;
    return GROKKIT_CAT(run_job, GROKKIT_ONE_WIDTH);
}
#endif

/* Vectors of hidden units per row at width kw (at width 4, whole pairs of vectors: half as
   many specializations to compile). */
static int hidden_vectors(int kw, int H)
{
    return kw == 4 ? 2 * ((H + 7) / 8) : (H + kw - 1) / kw;
}

/* ---- A helper thread for the second half of the rows ----
 *
 * The rows are always summed as two halves, each in its own accumulators, and the halves
 * added at the end: so the numbers are the same whether one thread does both halves or a
 * helper thread does the second half on another CPU at the same time. Only the small
 * collapsed matrices and the half's gradient pass between the CPUs (tens of kilobytes;
 * on a virtual machine, moving more between cores costs more than it saves). The helper
 * waits for work by spinning (waking a sleeping thread costs tens of microseconds on a
 * virtual machine, a fifth of a call), and sleeps after 2 ms without work. One caller uses
 * it at a time; another caller meanwhile, or a forked child, does both halves itself.
 */
#ifdef GROKKIT_THREADS
#include <pthread.h>
#include <sched.h>
#include <time.h>

#define HELPER_SPIN_NS 2000000LL

static struct {
    pthread_mutex_t owner;      /* held by the caller using the helper */
    pthread_mutex_t mu;         /* with cv: the helper's sleep */
    pthread_cond_t cv;
    int state;                  /* 0: not started, 1: running, -1: could not start */
    uint64_t posted, done;      /* job counters, read and written atomically */
    const job_t *job;
    uint64_t fpcw;              /* the caller's floating-point control word */
} helper = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, NULL, 0};

/* The floating-point control word (flush-to-zero, denormals-are-zero, rounding): per
   thread, so the helper takes the caller's before each job (torch.set_flush_denormal). */
static inline uint64_t fp_control_get(void)
{
#if defined(__SSE__) || defined(__x86_64__)
    return _mm_getcsr();
#elif defined(__aarch64__)
    uint64_t v;
    __asm__ volatile("mrs %0, fpcr" : "=r"(v));
    return v;
#else
    return 0;
#endif
}

static inline void fp_control_set(uint64_t v)
{
#if defined(__SSE__) || defined(__x86_64__)
    _mm_setcsr((unsigned)v);
#elif defined(__aarch64__)
    __asm__ volatile("msr fpcr, %0" : : "r"(v));
#else
    (void)v;
#endif
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static void *helper_main(void *arg)
{
    (void)arg;
    uint64_t seen = 0;
    for (;;) {
        long long t0 = 0;
        unsigned spins = 0;
        while (__atomic_load_n(&helper.posted, __ATOMIC_ACQUIRE) == seen) {
            cpu_relax();
            if ((++spins & 1023) == 0) {
                long long t = now_ns();
                if (!t0) {
                    t0 = t;
                } else if (t - t0 > HELPER_SPIN_NS) {
                    pthread_mutex_lock(&helper.mu);
                    while (__atomic_load_n(&helper.posted, __ATOMIC_ACQUIRE) == seen)
                        pthread_cond_wait(&helper.cv, &helper.mu);
                    pthread_mutex_unlock(&helper.mu);
                }
            }
        }
        seen = __atomic_load_n(&helper.posted, __ATOMIC_ACQUIRE);
        fp_control_set(helper.fpcw);   /* the caller's denormal handling: the caller's numbers */
        helper.job->run(helper.job);
        __atomic_store_n(&helper.done, seen, __ATOMIC_RELEASE);
    }
    return NULL;
}

static void helper_after_fork(void)
{
    /* the child has no helper thread (and maybe a held lock): start afresh when needed */
    pthread_mutex_init(&helper.owner, NULL);
    pthread_mutex_init(&helper.mu, NULL);
    pthread_cond_init(&helper.cv, NULL);
    helper.state = 0;
    helper.posted = helper.done = 0;
}

/* Take the helper for this caller (starting it the first time); 0 if it is busy or absent. */
static int helper_acquire(void)
{
    if (pthread_mutex_trylock(&helper.owner) != 0) return 0;
    if (helper.state == 0) {
        pthread_attr_t attr;
        pthread_t t;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        helper.state = pthread_create(&t, &attr, helper_main, NULL) == 0 ? 1 : -1;
        pthread_attr_destroy(&attr);
        if (helper.state == 1) pthread_atfork(NULL, NULL, helper_after_fork);
    }
    if (helper.state != 1) {
        pthread_mutex_unlock(&helper.owner);
        return 0;
    }
    return 1;
}

static void helper_release(void) { pthread_mutex_unlock(&helper.owner); }

static uint64_t helper_post(const job_t *job)
{
    helper.job = job;
    helper.fpcw = fp_control_get();
    uint64_t ticket = helper.posted + 1;
    __atomic_store_n(&helper.posted, ticket, __ATOMIC_RELEASE);
    pthread_mutex_lock(&helper.mu);
    pthread_cond_signal(&helper.cv);
    pthread_mutex_unlock(&helper.mu);
    return ticket;
}

static void helper_wait(uint64_t ticket)
{
    unsigned spins = 0;
    while (__atomic_load_n(&helper.done, __ATOMIC_ACQUIRE) < ticket) {
        cpu_relax();
        if (++spins > 20000) sched_yield();   /* the helper's CPU is busy elsewhere: let it run */
    }
}
#endif

/* The gradient of every model's collapsed matrices, with vectors of kw floats. */
static int modadd_grad(int M, int N, int p, int H, const float *W, const int64_t *a, const int64_t *b,
                       const int64_t *y, float scale, float *G, int use_helper, int kw)
{
    const int H2 = 2 * H, nv16 = (p + 15) / 16, nv = nv16 * (16 / kw), nh = hidden_vectors(kw, H);
    if (nv16 > NV16MAX || H > HMAX) return -2;
    /* V: W_out by rows of H (k x classes), gV its gradient; VT: W_out.T (classes x k);
       Win: W_in, gWin its gradient; one gV, gWin per half of the rows. Rows of whole
       vectors, zero-padded; each half's gV and gWin adjacent (zeroed together by run). */
    size_t sv = (size_t)H * nv * kw, sw = (size_t)p * nh * kw, nfloat = 3 * sv + 4 * sw;
    void *raw = malloc(nfloat * sizeof(float) + 64);
    if (!raw) return -1;
    float *base = (float *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    float *V = base, *VT = V + sv, *Win = VT + sw;
    float *gV0 = Win + sw, *gWin0 = gV0 + sv, *gV1 = gWin0 + sw, *gWin1 = gV1 + sv;
    const size_t rv = (size_t)nv * kw, rh = (size_t)nh * kw;   /* floats per row of V; of VT, Win */
    int helped = 0;
#ifdef GROKKIT_THREADS
    if (use_helper) helped = helper_acquire();
#else
    (void)use_helper;
#endif
    const int half = (N + 1) / 2;
    void (*run)(const job_t *) = job_runner(kw);
    for (int m = 0; m < M; m++) {
        const float *Wm = W + (size_t)m * p * H2;
        float *Gm = G + (size_t)m * p * H2;
        memset(base, 0, (sv + 2 * sw) * sizeof(float));
        for (int j = 0; j < p; j++)
            for (int k = 0; k < H; k++) {
                float wo = Wm[(size_t)j * H2 + H + k];
                VT[j * rh + k] = wo;
                V[k * rv + j] = wo;
                Win[j * rh + k] = Wm[(size_t)j * H2 + k];
            }
        const int64_t *am = a + (size_t)m * N, *bm = b + (size_t)m * N, *ym = y + (size_t)m * N;
        job_t first = {run, nv16, nh, half, p, V, VT, Win, gV0, gWin0, am, bm, ym, scale, sv + sw};
        job_t second = {run, nv16, nh, N - half, p, V, VT, Win, gV1, gWin1, am + half, bm + half, ym + half,
                        scale, sv + sw};
#ifdef GROKKIT_THREADS
        if (helped) {
            uint64_t ticket = helper_post(&second);
            run(&first);
            helper_wait(ticket);
        } else
#endif
        {
            run(&first);
            run(&second);
        }
        for (int j = 0; j < p; j++)
            for (int k = 0; k < H; k++) {
                Gm[(size_t)j * H2 + k] = gWin0[j * rh + k] + gWin1[j * rh + k];
                Gm[(size_t)j * H2 + H + k] = gV0[k * rv + j] + gV1[k * rv + j];
            }
    }
#ifdef GROKKIT_THREADS
    if (helped) helper_release();
#endif
    free(raw);
    return 0;
}

static PyObject *py_modadd_grad(PyObject *self, PyObject *args)
{
    int M, N, p, H, use_helper = 0, kw = 0;
    unsigned long long W, a, b, y, G;
    float scale;
    if (!PyArg_ParseTuple(args, "iiiiKKKKfK|pi", &M, &N, &p, &H, &W, &a, &b, &y, &scale, &G, &use_helper, &kw))
        return NULL;
    if (M < 1 || N < 1 || p < 1 || H < 1) {
        PyErr_SetString(PyExc_ValueError, "modadd_grad: M, N, p and H must be positive");
        return NULL;
    }
    int ok = 0;
    for (int i = 0; widths[i]; i++) ok |= widths[i] == kw;
    if (kw == 0) {
        kw = widths[0];
    } else if (!ok) {
        PyErr_Format(PyExc_ValueError, "modadd_grad: width = %d is not one this processor runs; "
                     "allowed: 0 (the widest) or one of WIDTHS", kw);
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = modadd_grad(M, N, p, H, (const float *)(uintptr_t)W, (const int64_t *)(uintptr_t)a,
                     (const int64_t *)(uintptr_t)b, (const int64_t *)(uintptr_t)y, scale, (float *)(uintptr_t)G,
                     use_helper, kw);
    Py_END_ALLOW_THREADS
    if (rc == -1) return PyErr_NoMemory();
    if (rc == -2) {
        PyErr_Format(PyExc_ValueError, "modadd_grad: p = %d, H = %d; supported: p <= %d, H <= %d",
                     p, H, 16 * NV16MAX, HMAX);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"modadd_grad", py_modadd_grad, METH_VARARGS,
     "modadd_grad(M, N, p, H, W, a, b, y, scale, G, helper=False, width=0): gradients of the collapsed matrices.\n\n"
     "Pointers (data_ptr) to contiguous tensors: W float32 (M, p, 2H) = [W_in | W_out.T]; a, b, y "
     "int64 (M, N) with values in [0, p); G float32 (M, p, 2H), overwritten with the gradient of "
     "the loss (cross-entropy / (N p), summed over examples) with respect to W. The examples are "
     "summed as two halves (the first ceil(N/2), the rest), added at the end; helper true: the second "
     "half runs at the same time on a helper thread (same numbers). width: floats per vector, one of "
     "WIDTHS (0: the widest); every width with FMA gives the same numbers."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fused",
                                    "Fused per-example kernel of the modular-addition training step.", -1, methods};

PyMODINIT_FUNC PyInit__fused(void)
{
    find_widths();
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    int n = 0;
    while (widths[n]) n++;
    PyObject *w = PyTuple_New(n);
    for (int i = 0; w && i < n; i++) {
        PyObject *x = PyLong_FromLong(widths[i]);
        if (!x) {
            Py_CLEAR(w);
            break;
        }
        PyTuple_SET_ITEM(w, i, x);
    }
    if (w == NULL || PyModule_AddObject(m, "WIDTHS", w) < 0 ||
        PyModule_AddIntConstant(m, "MAX_CLASSES", 16 * NV16MAX) < 0 ||
        PyModule_AddIntConstant(m, "MAX_HIDDEN", HMAX) < 0) {
        Py_XDECREF(w);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

#else  /* GROKKIT_KW: the kernel for vectors of KW floats (this file includes itself once per width) */

#define KW GROKKIT_KW
#define GW (16 / KW)                        /* vectors per group of 16 lanes */
#define KN(name) GROKKIT_CAT(name, GROKKIT_KW)
#define AI static inline __attribute__((always_inline)) GROKKIT_TARGET
#define vf KN(vf)
#define vi KN(vi)
#define vsel KN(vsel)
#define vmax KN(vmax)
#define vexp_nonpos KN(vexp_nonpos)
#define shift_down KN(shift_down)
#define hmax16 KN(hmax16)
#define hsum16 KN(hsum16)
#define one_row KN(one_row)
#define rows KN(rows)
#define run_job KN(run_job)

typedef float vf __attribute__((vector_size(4 * KW)));
typedef int32_t vi __attribute__((vector_size(4 * KW)));

#define SPLAT(x) ((vf){0} + (x))
AI vf vsel(vi m, vf a, vf b) { return (vf)((m & (vi)a) | (~m & (vi)b)); }
AI vf vmax(vf a, vf b) { return vsel(a > b, a, b); }

/* exp(x) for x <= 0: Cephes' expf (range reduction by ln 2, degree-6 polynomial, 2^n built
   in the exponent bits), relative error about 1e-7; below -87 it returns exp(-87). */
AI vf vexp_nonpos(vf x)
{
    x = vsel(x < SPLAT(-87.0f), SPLAT(-87.0f), x);
    /* round to nearest integer: adding and subtracting 1.5 * 2^23 drops the fraction */
    vf n = (x * SPLAT(1.44269504088896341f) + SPLAT(12582912.0f)) - SPLAT(12582912.0f);
    vf r = x - n * SPLAT(0.693359375f);
    r = r - n * SPLAT(-2.12194440e-4f);
    vf q = SPLAT(1.9875691500E-4f);
    q = q * r + SPLAT(1.3981999507E-3f);
    q = q * r + SPLAT(8.3334519073E-3f);
    q = q * r + SPLAT(4.1665795894E-2f);
    q = q * r + SPLAT(1.6666665459E-1f);
    q = q * r + SPLAT(5.0000001201E-1f);
    q = q * r * r + r + SPLAT(1.0f);
    vi e = (__builtin_convertvector(n, vi) + 127) << 23;
    return q * (vf)e;
}

/* Lane l takes lane l + w, for w < KW (lanes past the end wrap round). GCC before 12 has
   no __builtin_shufflevector, clang no __builtin_shuffle. */
#if defined(__clang__)
#define SHUFFLE(v, ...) __builtin_shufflevector(v, v, __VA_ARGS__)
#else
#define SHUFFLE(v, ...) __builtin_shuffle(v, (vi){__VA_ARGS__})
#endif
AI vf shift_down(vf v, int w)
{
#if KW == 16
    switch (w) {
    case 8: return SHUFFLE(v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
    case 4: return SHUFFLE(v, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3);
    case 2: return SHUFFLE(v, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1);
    default: return SHUFFLE(v, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0);
    }
#elif KW == 8
    switch (w) {
    case 4: return SHUFFLE(v, 4, 5, 6, 7, 0, 1, 2, 3);
    case 2: return SHUFFLE(v, 2, 3, 4, 5, 6, 7, 0, 1);
    default: return SHUFFLE(v, 1, 2, 3, 4, 5, 6, 7, 0);
    }
#else
    return w == 2 ? SHUFFLE(v, 2, 3, 0, 1) : SHUFFLE(v, 1, 2, 3, 0);
#endif
}

/* Maximum and sum over a group of 16 lanes (GW vectors), in one fixed pairwise order at
   every width: lane l with lane l + w, for w = 8, 4, 2, 1 (across vectors while w >= KW). */
AI float hmax16(vf *m)
{
    for (int w = 8; w >= KW; w /= 2)
        for (int g = 0; g < w / KW; g++) m[g] = vsel(m[g + w / KW] > m[g], m[g + w / KW], m[g]);
    vf v = m[0];
    for (int w = KW / 2; w > 0; w /= 2) {
        vf hi = shift_down(v, w);
        v = vsel(hi > v, hi, v);
    }
    return v[0];
}

AI float hsum16(vf *s)
{
    for (int w = 8; w >= KW; w /= 2)
        for (int g = 0; g < w / KW; g++) s[g] = s[g] + s[g + w / KW];
    vf v = s[0];
    for (int w = KW / 2; w > 0; w /= 2) v = v + shift_down(v, w);
    return v[0];
}

/* One training row (pair a, b with label y): everything but its part of W_out's gradient.
   Writes the row's h (hs) and d(loss)/d(logits) (d), sets bit r of rows_on[k] for each
   active neuron k, and adds d(loss)/dh through the ReLU into W_in's rows a and b. NV
   (vectors of logits, whole groups of 16 lanes) and NH (vectors of hidden units) are
   compile-time constants after inlining, so the per-row arrays live in registers; a running
   sum kept in memory instead costs a store-to-load round trip per term. valid: which lanes
   of the last group of 16 are classes (< p). */
AI void one_row(const int NV, const int NH, int p, const vf *V, const vf *VT, const vf *Win, vf *gWin,
                int64_t a, int64_t b, int64_t y, float scale, const vi *valid, int r, float *hs, vf *d,
                uint32_t *rows_on)
{
    vf pre[NH], h[NH], lg[NV], dh[4][NH], mv[GW], sv[GW];
    vi bitval;
    for (int l = 0; l < KW; l++) bitval[l] = 1 << l;
    const vf *wa = Win + (size_t)a * NH, *wb = Win + (size_t)b * NH;
    for (int u = 0; u < NH; u++) {
        pre[u] = wa[u] + wb[u];
        h[u] = vsel(pre[u] < SPLAT(0.0f), SPLAT(0.0f), pre[u]);   /* ReLU; NaN stays NaN */
    }
    memcpy(hs, h, sizeof h);
    /* the active neurons (h != 0), one bit each: only they contribute to the logits and to gV */
    uint32_t on = 0;
    for (int u = 0; u < NH; u++) {
        vi bit = (vi)(h[u] != SPLAT(0.0f)) & bitval;
        for (int w = KW / 2; w > 0; w /= 2) bit |= (vi)shift_down((vf)bit, w);
        on |= (uint32_t)bit[0] << (KW * u);
    }
    for (int v = 0; v < NV; v++) lg[v] = SPLAT(0.0f);
    for (uint32_t rest = on; rest; rest &= rest - 1) {
        int k = __builtin_ctz(rest);
        rows_on[k] |= (uint32_t)1 << r;
        float hk = hs[k];
        const vf *Vk = V + (size_t)k * NV;
        for (int v = 0; v < NV; v++) lg[v] += hk * Vk[v];
    }
    /* softmax: padding lanes past p get -1e30 for the max and 0 after the exp; lane l of
       every group of 16 is summed (and maximized) into lane l of mv, sv first */
    for (int g = 0; g < GW; g++) lg[NV - GW + g] = vsel(valid[g], lg[NV - GW + g], SPLAT(-1e30f));
    for (int g = 0; g < GW; g++) mv[g] = lg[g];
    for (int v = GW; v < NV; v++) mv[v % GW] = vmax(mv[v % GW], lg[v]);
    float mx = hmax16(mv);
    for (int v = 0; v < NV; v++) lg[v] = vexp_nonpos(lg[v] - mx);
    for (int g = 0; g < GW; g++) lg[NV - GW + g] = (vf)((vi)lg[NV - GW + g] & valid[g]);
    for (int g = 0; g < GW; g++) sv[g] = SPLAT(0.0f);
    for (int v = 0; v < NV; v++) sv[v % GW] += lg[v];
    /* d(loss)/d(logits) = scale * (softmax - onehot(y)); minus scale in the label's lane in
       memory, so that the compiler cannot fuse it with the product into one differently
       rounded operation */
    float c = scale / hsum16(sv);
    for (int v = 0; v < NV; v++) d[v] = lg[v] * c;
    float *ds = (float *)d;
    ds[y] -= scale;
    /* d(loss)/dh = d W_out.T, over all classes, in four independent partial sums */
    for (int s = 0; s < 4; s++)
        for (int u = 0; u < NH; u++) dh[s][u] = SPLAT(0.0f);
    int j = 0;
    for (; j + 4 <= p; j += 4)
        for (int s = 0; s < 4; s++) {
            const vf *vt = VT + (size_t)(j + s) * NH;
            for (int u = 0; u < NH; u++) dh[s][u] += ds[j + s] * vt[u];
        }
    for (; j < p; j++) {
        const vf *vt = VT + (size_t)j * NH;
        for (int u = 0; u < NH; u++) dh[0][u] += ds[j] * vt[u];
    }
    /* through the ReLU, into both inputs' rows of W_in (twice when a == b) */
    vf *ga = gWin + (size_t)a * NH, *gb = gWin + (size_t)b * NH;
    for (int u = 0; u < NH; u++) {
        vf g = (dh[0][u] + dh[1][u]) + (dh[2][u] + dh[3][u]);
        g = vsel(pre[u] > SPLAT(0.0f), g, SPLAT(0.0f));
        ga[u] += g;
        gb[u] += g;
    }
}

/* One model's training rows, in blocks of BLOCK rows: each row as above, then W_out's
   gradient for the whole block, neuron by neuron, its running sum held in registers over
   the block's rows where the neuron is active. The terms are added in row order, as row by
   row, so the numbers are the same; but the sum is loaded and stored once per block instead
   of once per row (for PAIR_MODADD the kernel took 10-14% less time than row by row). */
AI void rows(const int NV, const int NH, int N, int p, const vf *V, vf *gV, const vf *VT, const vf *Win,
             vf *gWin, const int64_t *am, const int64_t *bm, const int64_t *ym, float scale, const vi *valid)
{
    for (int i0 = 0; i0 < N; i0 += BLOCK) {
        const int nb = N - i0 < BLOCK ? N - i0 : BLOCK;
        vf d[BLOCK][NV];
        float hs[BLOCK][NH * KW];
        uint32_t rows_on[NH * KW];              /* bit r: neuron k is active in row i0 + r */
        for (int k = 0; k < NH * KW; k++) rows_on[k] = 0;
        for (int r = 0; r < nb; r++)
            one_row(NV, NH, p, V, VT, Win, gWin, am[i0 + r], bm[i0 + r], ym[i0 + r], scale, valid, r,
                    hs[r], d[r], rows_on);
        for (int k = 0; k < NH * KW; k++) {
            if (!rows_on[k]) continue;
            vf acc[NV], *gk = gV + (size_t)k * NV;
            for (int v = 0; v < NV; v++) acc[v] = gk[v];
            for (uint32_t rest = rows_on[k]; rest; rest &= rest - 1) {
                const int r = __builtin_ctz(rest);
                const float hk = hs[r][k];
                for (int v = 0; v < NV; v++) acc[v] += hk * d[r][v];
            }
            for (int v = 0; v < NV; v++) gk[v] = acc[v];
        }
    }
}

#define CASE(NV16_, NH_) case (NV16_) * 16 + (NH_): \
    rows((NV16_) * GW, NH_, t->N, t->p, (const vf *)t->V, (vf *)t->gV, (const vf *)t->VT, \
         (const vf *)t->Win, (vf *)t->gWin, t->am, t->bm, t->ym, t->scale, valid); break;
#if KW == 16
#define CASES_NH(NV16_) CASE(NV16_, 1) CASE(NV16_, 2)
#elif KW == 8
#define CASES_NH(NV16_) CASE(NV16_, 1) CASE(NV16_, 2) CASE(NV16_, 3) CASE(NV16_, 4)
#else
#define CASES_NH(NV16_) CASE(NV16_, 2) CASE(NV16_, 4) CASE(NV16_, 6) CASE(NV16_, 8)
#endif

static GROKKIT_TARGET void run_job(const job_t *t)
{
    memset(t->gV, 0, t->nzero * sizeof(float));
    vi valid[GW];
    const int nv = t->nv16 * GW;
    for (int g = 0; g < GW; g++)
        for (int l = 0; l < KW; l++) valid[g][l] = ((nv - GW + g) * KW + l < t->p) ? -1 : 0;
    switch (t->nv16 * 16 + t->nh) {
        CASES_NH(1) CASES_NH(2) CASES_NH(3) CASES_NH(4) CASES_NH(5) CASES_NH(6) CASES_NH(7) CASES_NH(8)
    }
}

#undef CASE
#undef CASES_NH
#undef SPLAT
#undef SHUFFLE
#undef KW
#undef GW
#undef KN
#undef AI
#undef vf
#undef vi
#undef vsel
#undef vmax
#undef vexp_nonpos
#undef shift_down
#undef hmax16
#undef hsum16
#undef one_row
#undef rows
#undef run_job

#endif  /* GROKKIT_KW */
