# What `cmake --install` and the .deb (`cpack -G DEB`, run by scripts/package) put where: one set of
# rules for both, so a manual install and the package cannot drift apart.
include(GNUInstallDirs)

install(TARGETS esxmirror RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${ESXMIRROR_DOC_OUT}/esxmirror.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${ESXMIRROR_DOC_OUT}/esxmirror.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME esxmirror)
install(FILES ${ESXMIRROR_DOC_OUT}/README.md.gz ${ESXMIRROR_DOC_OUT}/changelog.Debian.gz
              ${PROJECT_SOURCE_DIR}/packaging/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/examples/esxmirror.toml ${PROJECT_SOURCE_DIR}/packaging/nginx-esxmirror.conf
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
# The config file, the systemd units and the cron example name absolute paths that depend on the
# prefix given at install time (CPack installs with /usr), so they are placed by a script then.
install(CODE "set(ESXMIRROR_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
              set(ESXMIRROR_STAGING_DIR \"${PROJECT_BINARY_DIR}/install-staging\")
              include(\"${PROJECT_SOURCE_DIR}/cmake/install_system_files.cmake\")")

# The Debian package. CPack rather than debian/ + dpkg-buildpackage: the package is exactly what the
# install() rules above install, from the build tree scripts/package (or the tests) already made,
# without debhelper or a second description of the files.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME esxmirror)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${ESXMIRROR_DEBIAN_REVISION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # esxmirror_0.1.0-1_amd64.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${ESXMIRROR_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "keep an internal mirror of VMware ESX/ESXi patches")
set(CPACK_PACKAGE_DESCRIPTION
    "esxmirror finds the vendor's patches for the ESX versions you select,
downloads what is new, verifies and unpacks it safely, and places it
atomically in a directory that is your internal patch repository. Its SQLite
state makes a night with nothing new a handful of conditional requests. The
package installs a systemd timer for a nightly run, not enabled.")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends from the binary's libraries, by dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")  # useradd, in postinst
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/packaging/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/postinst ${PROJECT_SOURCE_DIR}/packaging/prerm
    ${PROJECT_SOURCE_DIR}/packaging/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
