# Every third-party dependency is a Debian package (deploy/install-deps.sh).
find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
# OpenSSL (libssl-dev, which gRPC's and cpp-httplib's packages pull in):
# constant-time token comparison in core/grpc_security.
find_package(OpenSSL REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)

# cpp-httplib: Debian ships a compiled library and header, but no CMake config.
find_path(HTTPLIB_INCLUDE_DIR httplib.h REQUIRED)
find_library(HTTPLIB_LIBRARY NAMES cpp-httplib REQUIRED)
add_library(httplib::httplib UNKNOWN IMPORTED)
set_target_properties(httplib::httplib PROPERTIES
  IMPORTED_LOCATION "${HTTPLIB_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${HTTPLIB_INCLUDE_DIR}"
  INTERFACE_COMPILE_DEFINITIONS "CPPHTTPLIB_USE_POLL")

if(AG_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(AG_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()
if(AG_WITH_TORCH)
  find_package(Torch REQUIRED)
endif()

set(AG_PYTHON3 /usr/bin/python3 CACHE FILEPATH
    "Debian's python3 (has python3-grpcio / python3-protobuf)")
