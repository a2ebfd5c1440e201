# `cmake --install`: the vgrow CLI, the presets, the shipped dataset classifiers, the public headers, one static library a
# layer, and a CMake package (find_package(vgrow) -> vgrow::vgrow or vgrow::core, ...) plus
# pkg-config's vgrow.pc.
include(CMakePackageConfigHelpers)
set(VGROW_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/vgrow)

install(TARGETS vgrow_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY configs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/vgrow/configs)
install(DIRECTORY share/classifiers/ DESTINATION ${CMAKE_INSTALL_DATADIR}/vgrow/classifiers)
install(DIRECTORY include/vgrow DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS ${VGROW_LAYER_TARGETS} vgrow EXPORT vgrowTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT vgrowTargets NAMESPACE vgrow:: DESTINATION ${VGROW_CMAKE_DIR})

configure_package_config_file(cmake/vgrowConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/vgrowConfig.cmake INSTALL_DESTINATION ${VGROW_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/vgrowConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/vgrowConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/vgrowConfigVersion.cmake
        DESTINATION ${VGROW_CMAKE_DIR})

# pkg-config: the layers, highest first, then LibTorch as Torch's CMake package found it.
set(VGROW_PC_LIBS "")
list(REVERSE VGROW_LAYER_TARGETS)
foreach(target IN LISTS VGROW_LAYER_TARGETS)
  string(APPEND VGROW_PC_LIBS " -l${target}")
endforeach()
list(REVERSE VGROW_LAYER_TARGETS)
set(VGROW_PC_TORCH_CFLAGS "${TORCH_CXX_FLAGS}")
foreach(dir IN LISTS TORCH_INCLUDE_DIRS)
  # The compiler's own folders (/usr/include) stay out: -isystem there breaks #include_next.
  if(NOT dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    string(APPEND VGROW_PC_TORCH_CFLAGS " -isystem ${dir}")
  endif()
endforeach()
set(VGROW_PC_TORCH_LIBS "")
foreach(lib torch torch_cpu c10)
  find_library(VGROW_PC_${lib}_LIBRARY ${lib} HINTS ${TORCH_INSTALL_PREFIX}/lib)
  if(VGROW_PC_${lib}_LIBRARY)
    get_filename_component(dir ${VGROW_PC_${lib}_LIBRARY} DIRECTORY)
    string(APPEND VGROW_PC_TORCH_LIBS " -L${dir} -l${lib}")
  endif()
endforeach()
# Relocatable: the prefix is found from where vgrow.pc lies (cmake --install --prefix DIR).
file(RELATIVE_PATH VGROW_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(cmake/vgrow.pc.in ${CMAKE_CURRENT_BINARY_DIR}/vgrow.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/vgrow.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
