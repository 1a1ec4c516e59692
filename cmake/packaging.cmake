# `cpack -G DEB` in a build tree makes xcap_<version>_amd64.deb: the binary (stripped), the
# systemd units, the example config, the Grafana dashboard and the Prometheus rules.
# tests/integration/package_test.cpp builds it and checks its contents.
include(GNUInstallDirs)

install(TARGETS xcap RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES deploy/systemd/xcap-capture@.service deploy/systemd/xcap-serve.service
        DESTINATION lib/systemd/system)
install(FILES deploy/xcap.conf.example README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES deploy/grafana/xcap.json DESTINATION ${CMAKE_INSTALL_DATADIR}/xcap/grafana)
install(FILES deploy/prometheus/alerts.yml deploy/prometheus/alerts_test.yml
              deploy/prometheus/prometheus.yml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/xcap/prometheus)

set(CPACK_PACKAGE_NAME xcap)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "xcap maintainers <maintainers@xcap.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "kernel-bypass packet capture: XDP + AF_XDP into pcap/pcapng rings, streams and archives")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # xcap_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # libbpf1, libxdp1, libpcap0.8, ... from the binary
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/deploy/debian/postinst)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
