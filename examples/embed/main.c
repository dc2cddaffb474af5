/* Embedding a compiled attention kernel: the generated header carries the
 * binaries (cubin/PTX for sm_80 and sm_90, the CPU shared object) and a
 * typed launch function; the program links only libattn_runtime. Built by
 * CMake from examples/gqa_causal.mlir (see CMakeLists.txt next to this).
 *
 * It asks for the GPU first; without a driver or device the runtime returns a
 * clear error code and message, and the program runs the CPU kernel instead.
 * A GPU launch takes device pointers; this example keeps to host memory and
 * so only calls the GPU path to show its error handling. */
#include "gqa_causal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { B = 1, HQ = 8, HK = 2, S = 512, D = 64 };

/* bf16 is the upper half of an f32 (inputs here are exact in bf16). */
static uint16_t to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return (uint16_t)(u >> 16);
}
static float from_bf16(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

int main(void) {
  size_t nq = (size_t)B * HQ * S * D, nk = (size_t)B * HK * S * D;
  uint16_t *q = malloc(nq * 2), *k = malloc(nk * 2), *v = malloc(nk * 2);
  uint16_t *o = calloc(nq, 2);
  float *lse = calloc((size_t)B * HQ * S, sizeof(float));
  for (size_t i = 0; i < nq; ++i)
    q[i] = to_bf16((float)((int)(i % 37) - 18) / 64.0f);
  for (size_t i = 0; i < nk; ++i) {
    k[i] = to_bf16((float)((int)(i % 29) - 14) / 64.0f);
    v[i] = to_bf16((float)((int)(i % 23) - 11) / 64.0f);
  }
  gqa_causal_args args = {q, k, v, o, lse, B, S, S};

  attn_status st = gqa_causal_launch(&args, "sm_90", NULL);
  if (st == ATTN_OK) {
    printf("embed: launched on sm_90\n");
  } else {
    printf("embed: GPU launch unavailable: %s (%s)\n", attn_status_name(st),
           attn_last_error());
  }
  st = gqa_causal_launch(&args, "cpu", NULL);
  if (st != ATTN_OK) {
    fprintf(stderr, "embed: CPU launch failed: %s\n", attn_last_error());
    return 1;
  }
  /* Causal row 0 attends only to key 0: O[0] must equal V[0]. */
  double sum = 0, err = 0;
  for (size_t i = 0; i < nq; ++i)
    sum += from_bf16(o[i]);
  for (int d = 0; d < D; ++d)
    err = fmax(err, fabs(from_bf16(o[d]) - from_bf16(v[d])));
  printf("embed: cpu ok, checksum %.6f, |O[0,0,0,:] - V[0,0,0,:]| = %.2e, lse[0] = %.6f\n",
         sum, err, lse[0]);
  free(q), free(k), free(v), free(o), free(lse);
  return err < 1e-6 ? 0 : 1;
}
