# Run by `cmake --install` and CPack with the install-time prefix: places the files whose paths lie
# outside the prefix for the package. With prefix /usr (the package) the config goes to
# /etc/esxmirror and the units to /lib/systemd/system; with any other prefix (/usr/local), under it.
# A config file already there is kept: an install over an edited one must not undo the edits.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(sysconf_dir /etc)
  set(unit_dir /lib/systemd/system)
else()
  set(sysconf_dir ${CMAKE_INSTALL_PREFIX}/etc)
  set(unit_dir ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
set(BINDIR ${CMAKE_INSTALL_PREFIX}/bin)
set(CONFIG_FILE ${sysconf_dir}/esxmirror/esxmirror.toml)

set(staging ${ESXMIRROR_STAGING_DIR})
configure_file(${ESXMIRROR_SOURCE_DIR}/packaging/systemd/esxmirror.service.in ${staging}/esxmirror.service @ONLY)
configure_file(${ESXMIRROR_SOURCE_DIR}/packaging/esxmirror.cron.in ${staging}/esxmirror.cron @ONLY)

file(INSTALL DESTINATION ${unit_dir} TYPE FILE
     FILES ${staging}/esxmirror.service ${ESXMIRROR_SOURCE_DIR}/packaging/systemd/esxmirror.timer)
file(INSTALL DESTINATION ${CMAKE_INSTALL_PREFIX}/share/doc/esxmirror/examples TYPE FILE FILES ${staging}/esxmirror.cron)
if(EXISTS "$ENV{DESTDIR}${CONFIG_FILE}")
  message(STATUS "Keeping: $ENV{DESTDIR}${CONFIG_FILE}")
else()
  file(INSTALL DESTINATION ${sysconf_dir}/esxmirror TYPE FILE FILES ${ESXMIRROR_SOURCE_DIR}/packaging/esxmirror.toml)
endif()
