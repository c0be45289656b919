# Runs one compile-fail check (tests/CMakeLists.txt: maso_compile_fail).
#   -DCOMMAND=<compiler and arguments, |-separated> -DCODE=<Ennn> -DEXPECT=compiles|fails
# compiles: the command must succeed. fails: it must fail with "maso <CODE>" in its output
# and with exactly one error, so that one mistake gives one error, not a cascade.
string(REPLACE "|" ";" COMMAND "${COMMAND}")
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(EXPECT STREQUAL "compiles")
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "expected to compile, but:\n${out}")
  endif()
  return()
endif()
if(status EQUAL 0)
  message(FATAL_ERROR "expected maso ${CODE}, but it compiled")
endif()
if(NOT out MATCHES "maso ${CODE}")
  message(FATAL_ERROR "expected maso ${CODE} in:\n${out}")
endif()
string(REGEX MATCHALL "error:" errors "${out}")
list(LENGTH errors count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one error (maso ${CODE}), got ${count}:\n${out}")
endif()
