# SPDX-License-Identifier: BSL-1.0
# cmake --install: the headers, the CMake package (tlvcast::tlvcast, tlvcast::openssl), the pkg-config
# files, docs/CLI.md; examples/CMakeLists.txt adds the programs tlvcast-relay and tlvcast-chat and
# their man pages. Included when
# TLVCAST_INSTALL is on (the default when tlvcast is the top-level project).
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/tlvcast DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(targets tlvcast)
if(TLVCAST_WITH_OPENSSL)
  list(APPEND targets tlvcast_openssl)
endif()
install(TARGETS ${targets} EXPORT tlvcastTargets)

# The library is headers only: nothing here depends on the machine's architecture, so the CMake
# package and the .pc files go under the data directory (share/), where both CMake and pkg-config
# look, rather than under lib/<multiarch>/.
set(config_dir ${CMAKE_INSTALL_DATADIR}/cmake/tlvcast)
install(EXPORT tlvcastTargets NAMESPACE tlvcast:: DESTINATION ${config_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/tlvcastConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tlvcastConfig.cmake INSTALL_DESTINATION ${config_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tlvcastConfigVersion.cmake
  COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/tlvcastConfig.cmake ${PROJECT_BINARY_DIR}/tlvcastConfigVersion.cmake
  DESTINATION ${config_dir})

# tlvcast.pc: relocatable, its prefix is found from the .pc file's own directory (${pcfiledir}).
set(pc_dir ${CMAKE_INSTALL_DATADIR}/pkgconfig)
if(IS_ABSOLUTE ${pc_dir})
  message(FATAL_ERROR "TLVCAST_INSTALL: CMAKE_INSTALL_DATADIR must be relative to the prefix (tlvcast.pc is relocatable)")
endif()
file(RELATIVE_PATH TLVCAST_PC_TO_PREFIX /prefix/${pc_dir} /prefix)   # ../.. for share/pkgconfig
string(REGEX REPLACE "/$" "" TLVCAST_PC_TO_PREFIX "${TLVCAST_PC_TO_PREFIX}")
if(IS_ABSOLUTE ${CMAKE_INSTALL_INCLUDEDIR})
  set(TLVCAST_PC_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
else()
  set(TLVCAST_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# Standalone Asio has no .pc file: its directory as found here, unless the compiler searches it anyway
# (Debian's libasio-dev: /usr/include).
set(TLVCAST_PC_ASIO_CFLAGS "")
if(NOT ASIO_INCLUDE_DIR IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
  set(TLVCAST_PC_ASIO_CFLAGS " -I${ASIO_INCLUDE_DIR}")
endif()
set(TLVCAST_PC_REQUIRES "")
set(TLVCAST_PC_DEFINES "")
if(TLVCAST_WITH_CRYPTOPP)
  set(TLVCAST_PC_REQUIRES "libcrypto++")
  set(TLVCAST_PC_DEFINES " -DTLVCAST_HAS_CRYPTOPP=1")
endif()
# Not in the .pc file: ASIO_HAS_CO_AWAIT=1, which tlvcast::tlvcast adds for clang >= 14 only (Asio's
# coroutine support there); clang users of pkg-config who use asio::use_awaitable add it themselves.
configure_file(${PROJECT_SOURCE_DIR}/cmake/tlvcast.pc.in ${PROJECT_BINARY_DIR}/tlvcast.pc @ONLY)
set(pc_files ${PROJECT_BINARY_DIR}/tlvcast.pc)
if(TLVCAST_WITH_OPENSSL)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/tlvcast-openssl.pc.in ${PROJECT_BINARY_DIR}/tlvcast-openssl.pc @ONLY)
  list(APPEND pc_files ${PROJECT_BINARY_DIR}/tlvcast-openssl.pc)
endif()
install(FILES ${pc_files} DESTINATION ${pc_dir})

# share/doc/tlvcast/: the programs' conventions and JSON event schema, which their --help names.
install(FILES ${PROJECT_SOURCE_DIR}/docs/CLI.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# share/tlvcast/: the systemd unit (its ExecStart names this prefix's tlvcast-relay), the example
# environment file, and the Wireshark dissector (packaging/).
set(unit_source ${PROJECT_SOURCE_DIR}/packaging/tlvcast-relay.service)
set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${unit_source})
file(READ ${unit_source} unit)
string(REPLACE "/usr/local/bin/tlvcast-relay" "${CMAKE_INSTALL_FULL_BINDIR}/tlvcast-relay" unit "${unit}")
file(WRITE ${PROJECT_BINARY_DIR}/tlvcast-relay.service "${unit}")
install(FILES ${PROJECT_BINARY_DIR}/tlvcast-relay.service ${PROJECT_SOURCE_DIR}/packaging/tlvcast-relay.default
        ${PROJECT_SOURCE_DIR}/tools/wireshark/tlvcast.lua DESTINATION ${CMAKE_INSTALL_DATADIR}/tlvcast)
