# Helpers for maso's own tests, benchmarks and examples (not installed).

# Warnings for maso's own code; the library target itself carries none.
function(maso_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(MASO_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# ISA flags per xsimd arch name. Each SIMD test is built once per ISA, as its
# own executable: translation units built for different ISAs are never linked
# together (STYLE.md pitfall 4), and each runs only where the CPU has the ISA.
set(MASO_ISA_FLAGS_sse2 "-msse2")
set(MASO_ISA_FLAGS_avx2 "-mavx2;-mfma")
set(MASO_ISA_FLAGS_avx512 "-mavx512f;-mavx512cd;-mavx512bw;-mavx512dq;-mavx512vl;-mfma")
set(MASO_ISAS sse2 avx2 avx512 CACHE STRING "The ISAs each SIMD test is built for (scripts/test.sh narrows it for the sanitizer and clang++ runs)")

# The native ISA for benchmarks and the demo, when MASO_NATIVE is ON.
function(maso_native target)
  if(MASO_NATIVE)
    target_compile_options(${target} PRIVATE -march=native)
  endif()
endfunction()
