# Debian 12's libxsimd-dev exports a target `xsimd` whose link interface names
# `xtl`, a library xsimd 8 does not need and the package does not depend on; a
# consumer then fails to link with "cannot find -lxtl". When no `xtl` target
# exists, drop that entry: xsimd is header-only.
if(TARGET xsimd AND NOT TARGET xtl)
  get_target_property(_maso_xsimd_libs xsimd INTERFACE_LINK_LIBRARIES)
  if(_maso_xsimd_libs)
    list(REMOVE_ITEM _maso_xsimd_libs xtl)
    set_target_properties(xsimd PROPERTIES INTERFACE_LINK_LIBRARIES "${_maso_xsimd_libs}")
  endif()
  unset(_maso_xsimd_libs)
endif()
