#pragma once
// Subnormal floats cost ~100× a normal operation on x86. Rules that shrink weights towards
// zero (anti-Hebbian terms, decay) drive students into that range, and a rule search explores
// such rules all the time: one of them made a study 150× slower. The inner loop therefore
// flushes subnormal results to zero and treats subnormal inputs as zero (FTZ/DAZ) while a
// student trains; the guard restores the thread's previous mode. Results stay deterministic:
// the mode is the same on every thread.
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace plast {

class FlushSubnormals {
 public:
  FlushSubnormals() {
#if defined(__SSE__)
    saved_ = _mm_getcsr();
    _mm_setcsr(saved_ | 0x8040u);   // FTZ (bit 15) | DAZ (bit 6)
#endif
  }
  ~FlushSubnormals() {
#if defined(__SSE__)
    _mm_setcsr(saved_);
#endif
  }
  FlushSubnormals(const FlushSubnormals&) = delete;
  FlushSubnormals& operator=(const FlushSubnormals&) = delete;

 private:
  unsigned saved_ = 0;
};

}  // namespace plast
