// The laws of every unit of the registry (maso_test/unit_registry.hpp): a unit is one
// header plus one line there.
#include <maso_test/unit_laws.hpp>
#include <maso_test/unit_registry.hpp>

BOOST_AUTO_TEST_CASE(every_registered_unit_obeys_the_laws) {
    maso_test::for_each_unit([](const auto& unit) {
        BOOST_TEST_CONTEXT(unit.name()) maso_test::check_unit_laws(unit);
    });
}
