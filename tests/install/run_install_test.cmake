# Installs maso into a temporary prefix, then configures, builds and runs a
# small outside project that finds it with find_package(maso CONFIG).
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}")
  endif()
endfunction()
run(${CMAKE_COMMAND} -S ${MASO_SOURCE} -B ${WORK}/maso-build -DCMAKE_CXX_COMPILER=${CXX}
    -DCMAKE_INSTALL_PREFIX=${WORK}/prefix -DMASO_BUILD_TESTS=OFF -DMASO_BUILD_BENCHMARKS=OFF
    -DMASO_BUILD_EXAMPLES=OFF)
run(${CMAKE_COMMAND} --install ${WORK}/maso-build)
run(${CMAKE_COMMAND} -S ${MASO_SOURCE}/tests/install/consumer -B ${WORK}/consumer-build
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${WORK}/prefix)
run(${CMAKE_COMMAND} --build ${WORK}/consumer-build)
run(${WORK}/consumer-build/consumer)
run(${WORK}/consumer-build/io_consumer)
message(STATUS "consumer built and ran against ${WORK}/prefix")
