// The tests of include/maso/kernels/gemm/ (one header per file here), in one executable
// built once per ISA: a link per ISA instead of one per header.
#define BOOST_TEST_MODULE kernels.gemm_parts
#include <boost/test/unit_test.hpp>
