// maso E001: a window or channel max needs at least 2 regions.
#include <maso/vq/units/channel_max.hpp>
#include <maso/vq/units/window_max.hpp>

int main() {
#ifdef MASO_COMPILE_FAIL
    maso::vq::window_max<1> unit;
#else
    maso::vq::window_max<4> unit;
#endif
    maso::vq::channel_max<2> group;
    return int(unit.regions + group.regions) - 6;
}
