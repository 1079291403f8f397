# One helper per kind of target, so every component is declared the same way.
#
#   ag_cc_library(NAME foo SRCS a.cc b.cc HDRS a.h DEPS agentgym::core ...)
#     -> target agentgym_foo, alias agentgym::foo
#   ag_cc_test(NAME foo_test SRCS foo_test.cc DEPS agentgym::foo LABELS unit)
#   ag_cc_binary(NAME agentgym-env-server SRCS main.cc DEPS ...)

set(AG_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)

function(ag_cc_library)
  cmake_parse_arguments(AG "" "NAME" "SRCS;HDRS;DEPS;PRIVATE_DEPS" ${ARGN})
  set(target agentgym_${AG_NAME})
  if(AG_SRCS)
    add_library(${target} STATIC ${AG_SRCS} ${AG_HDRS})
    target_compile_options(${target} PRIVATE ${AG_WARNINGS})
    target_include_directories(${target} PUBLIC
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}>)
    target_link_libraries(${target} PUBLIC ${AG_DEPS} PRIVATE ${AG_PRIVATE_DEPS})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}>)
    target_link_libraries(${target} INTERFACE ${AG_DEPS})
  endif()
  add_library(agentgym::${AG_NAME} ALIAS ${target})
endfunction()

# LABELS: unit | integration | e2e (slow). TIMEOUT in seconds (default 300).
function(ag_cc_test)
  if(NOT AG_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(AG "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS;ARGS" ${ARGN})
  add_executable(${AG_NAME} ${AG_SRCS})
  target_compile_options(${AG_NAME} PRIVATE ${AG_WARNINGS})
  target_link_libraries(${AG_NAME} PRIVATE ${AG_DEPS} GTest::gmock GTest::gtest_main)
  add_test(NAME ${AG_NAME} COMMAND ${AG_NAME} ${AG_ARGS})
  if(NOT AG_LABELS)
    set(AG_LABELS unit)
  endif()
  if(NOT AG_TIMEOUT)
    set(AG_TIMEOUT 300)
  endif()
  set_tests_properties(${AG_NAME} PROPERTIES LABELS "${AG_LABELS}" TIMEOUT ${AG_TIMEOUT})
endfunction()

function(ag_cc_binary)
  cmake_parse_arguments(AG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${AG_NAME} ${AG_SRCS})
  target_compile_options(${AG_NAME} PRIVATE ${AG_WARNINGS})
  target_link_libraries(${AG_NAME} PRIVATE ${AG_DEPS})
endfunction()

# Compile .proto files once into one library (C++ messages + gRPC services).
#   ag_proto_library(NAME proto PROTOS a/b.proto ... [ROOT dir])
#   paths relative to ROOT (default proto/)
function(ag_proto_library)
  cmake_parse_arguments(AG "" "NAME;ROOT" "PROTOS" ${ARGN})
  set(proto_root ${PROJECT_SOURCE_DIR}/proto)
  if(AG_ROOT)
    set(proto_root ${AG_ROOT})
  endif()
  set(out_dir ${PROJECT_BINARY_DIR}/proto_gen)
  file(MAKE_DIRECTORY ${out_dir})
  set(srcs)
  foreach(proto ${AG_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" stem ${proto})
    set(gen ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.pb.h
            ${out_dir}/${stem}.grpc.pb.cc ${out_dir}/${stem}.grpc.pb.h)
    add_custom_command(
      OUTPUT ${gen}
      COMMAND protobuf::protoc
        --proto_path=${proto_root}
        --cpp_out=${out_dir}
        --grpc_out=${out_dir}
        --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
        ${proto_root}/${proto}
      DEPENDS ${proto_root}/${proto} protobuf::protoc gRPC::grpc_cpp_plugin
      COMMENT "protoc ${proto}")
    list(APPEND srcs ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.grpc.pb.cc)
  endforeach()
  add_library(agentgym_${AG_NAME} STATIC ${srcs})
  target_include_directories(agentgym_${AG_NAME} PUBLIC $<BUILD_INTERFACE:${out_dir}>)
  target_link_libraries(agentgym_${AG_NAME} PUBLIC protobuf::libprotobuf gRPC::grpc++)
  add_library(agentgym::${AG_NAME} ALIAS agentgym_${AG_NAME})
endfunction()

# A built-in environment: one folder under env_server/envs/ with a CMakeLists
# that calls
#   ag_env(NAME textcraft SRCS textcraft.cc ... TEST_SRCS textcraft_test.cc
#          [DATA_DIR data] [DEPS ...])
# It builds agentgym_env_<name>, registers it into agentgym::envs (linked
# whole-archive so its AG_REGISTER_ENV survives), and a unit test
# env_<name>_test linked with the shared env checks.
function(ag_env)
  cmake_parse_arguments(AG "" "NAME" "SRCS;TEST_SRCS;DEPS" ${ARGN})
  ag_cc_library(NAME env_${AG_NAME} SRCS ${AG_SRCS}
    DEPS agentgym::env_api agentgym::core ${AG_DEPS})
  set_property(GLOBAL APPEND PROPERTY AG_ENV_TARGETS agentgym_env_${AG_NAME})
  if(AG_TEST_SRCS)
    ag_cc_test(NAME env_${AG_NAME}_test SRCS ${AG_TEST_SRCS}
      DEPS agentgym::env_${AG_NAME} agentgym::env_checks)
  endif()
endfunction()
