# The man page and the bash completion, rendered at build time by esxmirror-doc from the same CLI11
# definitions the program parses with (the prose is doc/esxmirror.1.in), and the gzipped documents
# the package installs. All part of the default build, so `cmake --install` finds them.
find_program(GZIP gzip REQUIRED)
set(ESXMIRROR_DOC_OUT ${PROJECT_BINARY_DIR}/doc)
file(MAKE_DIRECTORY ${ESXMIRROR_DOC_OUT})

add_custom_command(
  OUTPUT ${ESXMIRROR_DOC_OUT}/esxmirror.1
  COMMAND esxmirror-doc man ${PROJECT_SOURCE_DIR}/doc/esxmirror.1.in ${ESXMIRROR_RELEASE_DATE}
          ${ESXMIRROR_DOC_OUT}/esxmirror.1
  DEPENDS esxmirror-doc ${PROJECT_SOURCE_DIR}/doc/esxmirror.1.in
  COMMENT "Rendering the man page esxmirror.1" VERBATIM)
add_custom_command(
  OUTPUT ${ESXMIRROR_DOC_OUT}/esxmirror.bash-completion
  COMMAND esxmirror-doc bash-completion ${ESXMIRROR_DOC_OUT}/esxmirror.bash-completion
  DEPENDS esxmirror-doc
  COMMENT "Rendering the bash completion" VERBATIM)

# gzip -9n (no name or time stamp, so the same input gives the same bytes), as Debian policy asks.
function(esxmirror_gzip input output)
  add_custom_command(OUTPUT ${output} COMMAND sh -c "${GZIP} -9n -c \"$0\" > \"$1\"" ${input} ${output}
                     DEPENDS ${input} VERBATIM)
endfunction()
esxmirror_gzip(${ESXMIRROR_DOC_OUT}/esxmirror.1 ${ESXMIRROR_DOC_OUT}/esxmirror.1.gz)
esxmirror_gzip(${PROJECT_SOURCE_DIR}/README.md ${ESXMIRROR_DOC_OUT}/README.md.gz)
esxmirror_gzip(${PROJECT_SOURCE_DIR}/packaging/changelog ${ESXMIRROR_DOC_OUT}/changelog.Debian.gz)

add_custom_target(docs ALL DEPENDS ${ESXMIRROR_DOC_OUT}/esxmirror.1.gz ${ESXMIRROR_DOC_OUT}/README.md.gz
                                   ${ESXMIRROR_DOC_OUT}/changelog.Debian.gz
                                   ${ESXMIRROR_DOC_OUT}/esxmirror.bash-completion)
