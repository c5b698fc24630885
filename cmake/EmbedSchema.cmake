# schema/NNNN_*.sql are compiled into the binary so a deployed tool needs no data files.
file(GLOB schema_files CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/schema/*.sql)
list(SORT schema_files)
set(schema_cpp ${CMAKE_CURRENT_BINARY_DIR}/generated/schema_migrations.cpp)
# '|' between the files, quoted for the shell (VERBATIM): a list's ';' would end the command there.
string(REPLACE ";" "|" schema_files_arg "${schema_files}")
add_custom_command(
  OUTPUT ${schema_cpp}
  COMMAND ${CMAKE_COMMAND} -DOUT=${schema_cpp} "-DFILES=${schema_files_arg}"
          -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/embed_schema.cmake
  DEPENDS ${schema_files} ${CMAKE_CURRENT_SOURCE_DIR}/cmake/embed_schema.cmake
  COMMENT "Embedding schema migrations"
  VERBATIM)
add_library(esxmirror_schema STATIC ${schema_cpp})
target_include_directories(esxmirror_schema PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
target_link_libraries(esxmirror_schema PUBLIC standard_settings)
