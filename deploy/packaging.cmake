# Debian packages with CPack (`cmake --build build --target package`, or
# deploy/package.sh): steward-agent, steward-collector and stewardctl, one
# CPack component each. Besides the binaries (installed by agent/,
# collector/ and collector/ctl/), each package gets what this file installs:
# the commented config file in /etc/steward (a conffile), the systemd unit,
# the maintainer scripts of deploy/debian/PACKAGE/, and the copyright file,
# changelog and install guide in /usr/share/doc/PACKAGE. See docs/install.md.

set(STEWARD_DEB_RELEASE "1" CACHE STRING
    "Debian revision of the packages: VERSION-RELEASE (raise it to rebuild the same version)")
set(STEWARD_DEB_MAINTAINER "Steward maintainers <steward-maintainers@example.org>" CACHE STRING
    "Maintainer field of the packages")
set(STEWARD_DEB_VERSION "${PROJECT_VERSION}-${STEWARD_DEB_RELEASE}")
set(_deb "${CMAKE_CURRENT_LIST_DIR}/debian")
set(_gen "${CMAKE_BINARY_DIR}/debian")
set(_packages steward-agent steward-collector stewardctl)

# Config files and units.
install(FILES "${CMAKE_CURRENT_LIST_DIR}/config/agent.conf" DESTINATION /etc/steward COMPONENT steward-agent)
install(FILES "${CMAKE_CURRENT_LIST_DIR}/config/collector.conf" DESTINATION /etc/steward COMPONENT steward-collector)
foreach(_unit steward-agent steward-collector)
  install(FILES "${CMAKE_CURRENT_LIST_DIR}/systemd/${_unit}.service" DESTINATION /lib/systemd/system
          COMPONENT ${_unit})
endforeach()
# Edited config files are kept on upgrade (dpkg asks, or keeps them with
# --force-confold).
file(WRITE "${_gen}/steward-agent/conffiles" "/etc/steward/agent.conf\n")
file(WRITE "${_gen}/steward-collector/conffiles" "/etc/steward/collector.conf\n")

# /usr/share/doc/PACKAGE: copyright, changelog.Debian.gz (gzip -9n: no name,
# no time, the same bytes every build) and the install guide.
# Dates from SOURCE_DATE_EPOCH when set (reproducible builds), else now.
string(TIMESTAMP _date "%a, %d %b %Y %H:%M:%S +0000" UTC)
string(TIMESTAMP STEWARD_DEB_YEAR "%Y" UTC)
find_program(STEWARD_GZIP gzip REQUIRED)
foreach(_pkg IN LISTS _packages)
  set(STEWARD_DEB_SOURCE "${_pkg}")
  set(STEWARD_DEB_DATE "${_date}")
  configure_file("${_deb}/changelog.in" "${_gen}/${_pkg}/changelog.Debian" @ONLY)
  configure_file("${_deb}/copyright" "${_gen}/${_pkg}/copyright" @ONLY)
  execute_process(COMMAND "${STEWARD_GZIP}" -9nf "${_gen}/${_pkg}/changelog.Debian" COMMAND_ERROR_IS_FATAL ANY)
  install(FILES "${_gen}/${_pkg}/copyright" "${_gen}/${_pkg}/changelog.Debian.gz"
          DESTINATION share/doc/${_pkg} COMPONENT ${_pkg})
endforeach()
# The collector package carries the agent package of the same build, so a
# collector installed from it serves agents at once (deploy/package.sh
# builds the packages once, then the collector's again with this set).
set(STEWARD_BUNDLED_AGENT_DEB "" CACHE FILEPATH "steward-agent .deb the steward-collector package carries")
if(STEWARD_BUNDLED_AGENT_DEB)
  install(FILES "${STEWARD_BUNDLED_AGENT_DEB}" DESTINATION share/steward/agent-packages COMPONENT steward-collector)
endif()
install(FILES "${PROJECT_SOURCE_DIR}/docs/install.md" DESTINATION share/doc/steward-agent COMPONENT steward-agent)
install(FILES "${PROJECT_SOURCE_DIR}/docs/install.md" DESTINATION share/doc/steward-collector
        COMPONENT steward-collector)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME steward)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "Steward")
set(CPACK_PACKAGE_CONTACT "${STEWARD_DEB_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY "${CMAKE_BINARY_DIR}/packages")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL ${_packages})
set(CPACK_COMPONENTS_GROUPING IGNORE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE "${STEWARD_DEB_RELEASE}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${STEWARD_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends from the libraries the binaries link (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_STEWARD-AGENT_PACKAGE_NAME steward-agent)
set(CPACK_DEBIAN_STEWARD-COLLECTOR_PACKAGE_NAME steward-collector)
set(CPACK_DEBIAN_STEWARDCTL_PACKAGE_NAME stewardctl)
# deb-systemd-helper and deb-systemd-invoke (init-system-helpers) are
# Essential; adduser is not.
set(CPACK_DEBIAN_STEWARD-COLLECTOR_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_STEWARD-COLLECTOR_PACKAGE_SUGGESTS "stewardctl")
foreach(_pkg steward-agent steward-collector)
  string(TOUPPER "${_pkg}" _PKG)
  set(CPACK_DEBIAN_${_PKG}_PACKAGE_CONTROL_EXTRA
      "${_deb}/${_pkg}/postinst;${_deb}/${_pkg}/prerm;${_deb}/${_pkg}/postrm;${_gen}/${_pkg}/conffiles")
endforeach()

set(CPACK_COMPONENT_STEWARD-AGENT_DESCRIPTION
    "fleet agent: reports this host to a Steward collector\n\
Steward manages the applications of a fleet of machines. The agent reports\n\
this host's software inventory (dpkg, rpm, pip, npm, snap, flatpak), its\n\
metrics, systemd units and application health to a Steward collector over\n\
mutual TLS, and runs the signed patch and deployment jobs it receives.\n\
Settings: /etc/steward/agent.conf; service: steward-agent.service.")
set(CPACK_COMPONENT_STEWARD-COLLECTOR_DESCRIPTION
    "fleet collector: stores what Steward agents report, drives rollouts\n\
Steward manages the applications of a fleet of machines. The collector\n\
receives the agents' inventories, metrics and health reports over gRPC\n\
with mutual TLS, keeps them in RocksDB (time series included), answers\n\
stewardctl, and drives staged rollouts of packages back to the agents.\n\
Settings: /etc/steward/collector.conf; service: steward-collector.service.")
set(CPACK_COMPONENT_STEWARDCTL_DESCRIPTION
    "command-line client of the Steward fleet collector\n\
Steward manages the applications of a fleet of machines. stewardctl is\n\
the operators' tool: hosts and their software, changes, metrics, health\n\
checks, enrollment tokens, users and the audit trail, artifacts, jobs and\n\
staged deployments, as tables for people or JSON for scripts.")

include(CPack)
