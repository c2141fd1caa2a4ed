/* A command-line driver of grokkit/_fused.c for tests/test_fused.py: built for arm64 and run
 * under qemu, it shows what an arm64 machine computes. Compiled together with the kernel
 * (it includes it), without Python: the module's Python functions are never called.
 *
 * harness IN OUT: IN holds int32 M, N, p, H, float32 scale, float32 W[M][p][2H], int64
 * a[M][N], b[M][N], y[M][N]; OUT receives float32 G[M][p][2H] from modadd_grad at the
 * widest vector width. Prints that width.
 */
#include "_fused.c"
#include <stdio.h>

static int read_all(FILE *f, void *dst, size_t size, size_t n) { return fread(dst, size, n, f) == n; }

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s IN OUT\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    int32_t shape[4];
    float scale;
    if (!f || !read_all(f, shape, 4, 4) || !read_all(f, &scale, 4, 1)) return 3;
    const int M = shape[0], N = shape[1], p = shape[2], H = shape[3];
    const size_t nw = (size_t)M * p * 2 * H, ni = (size_t)M * N;
    float *W = malloc(nw * sizeof(float)), *G = malloc(nw * sizeof(float));
    int64_t *a = malloc(ni * 8), *b = malloc(ni * 8), *y = malloc(ni * 8);
    if (!W || !G || !a || !b || !y) return 4;
    if (!read_all(f, W, 4, nw) || !read_all(f, a, 8, ni) || !read_all(f, b, 8, ni) || !read_all(f, y, 8, ni)) return 5;
    fclose(f);
    find_widths();
    if (modadd_grad(M, N, p, H, W, a, b, y, scale, G, 0, widths[0]) != 0) return 6;
    f = fopen(argv[2], "wb");
    if (!f || fwrite(G, sizeof(float), nw, f) != nw || fclose(f) != 0) return 7;
    printf("%d\n", widths[0]);
    return 0;
}
