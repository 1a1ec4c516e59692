// StreamServer over TLS: curl with the CA gets the stream over HTTPS; plain HTTP gets nothing;
// with a client CA (mTLS) a client without a certificate, or with one another CA signed, is
// refused in the handshake and never reaches the capture; an unusable TLS file is an error
// that names it. The certificates are made with the openssl command in a temporary directory.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "common/pcap_file.h"
#include "common/stream_server_kit.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "sink/fanout/stream_server.h"

namespace xcap::sink::fanout {
namespace {

using test::CurlStream;
using test::StreamRig;

// A CA, a server certificate for 127.0.0.1 (SAN IP), a client certificate, and a second CA
// with its own client certificate (signed by the wrong CA).
class Pki {
 public:
  Pki() {
    ca("ca");
    ca("other-ca");
    leaf("server", "ca", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    leaf("client", "ca", "extendedKeyUsage=clientAuth\n");
    leaf("stranger", "other-ca", "extendedKeyUsage=clientAuth\n");
  }
  std::string operator/(const std::string& name) const { return dir_ / name; }

 private:
  void openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/openssl");
    const auto r = test::run(args, 60);
    ASSERT_EQ(r.status, 0) << r.output;
  }
  void ca(const std::string& name) {
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", dir_ / (name + ".key"), "-out", dir_ / (name + ".pem"), "-days", "2",
             "-subj", "/CN=xcap test " + name});
  }
  void leaf(const std::string& name, const std::string& ca, const std::string& ext) {
    std::ofstream(dir_ / (name + ".ext")) << ext;
    openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", dir_ / (name + ".key"), "-out", dir_ / (name + ".csr"), "-subj",
             "/CN=xcap test " + name});
    openssl({"x509", "-req", "-in", dir_ / (name + ".csr"), "-CA", dir_ / (ca + ".pem"), "-CAkey",
             dir_ / (ca + ".key"), "-CAcreateserial", "-out", dir_ / (name + ".pem"), "-days", "2",
             "-extfile", dir_ / (name + ".ext")});
  }
  test::TempDir dir_;
};

TEST(StreamServerTls, CurlWithTheCaGetsTheStreamOverHttps) {
  Pki pki;
  StreamServerConfig cfg;
  cfg.tls_cert = pki / "server.pem";
  cfg.tls_key = pki / "server.key";
  StreamRig rig(cfg);
  ASSERT_TRUE(rig.ok());
  CurlStream c(rig.url("/capture?count=5&filter=udp", true), {"--cacert", pki / "ca.pem"});
  ASSERT_TRUE(rig.wait_subscriptions(1));
  rig.feed(test::mixed_frames(100));
  ASSERT_EQ(c.wait(30), 0) << c.err();
  auto got = test::read_pcap_bytes(c.body());
  ASSERT_EQ(got.error, "");
  EXPECT_EQ(got.records.size(), 5u);

  // Without the CA curl refuses the server; plain HTTP gets no answer; neither subscribes.
  EXPECT_NE(test::http(rig.url("/capture?count=1", true)).curl_exit, 0);
  EXPECT_EQ(test::http(rig.url("/capture?count=1")).status, 0);
  EXPECT_NE(test::http(rig.url("/capture", true), {"--cacert", pki / "ca.pem", "--tls-max", "1.1"})
                .curl_exit,
            0)
      << "TLS 1.1 was accepted";
  EXPECT_EQ(rig.host->subscribe_calls(), 1u);
  const auto h = test::http(rig.url("/healthz", true), {"--cacert", pki / "ca.pem"});
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "ok\n");
}

TEST(StreamServerTls, MutualTlsRefusesAClientWithoutACertificateFromTheCa) {
  Pki pki;
  StreamServerConfig cfg;
  cfg.tls_cert = pki / "server.pem";
  cfg.tls_key = pki / "server.key";
  cfg.tls_client_ca = pki / "ca.pem";
  cfg.token = "tok";
  cfg.listen = "0.0.0.0:0";  // with a token, every address
  StreamRig rig(cfg);
  ASSERT_TRUE(rig.ok());
  const std::vector<std::string> ca = {"--cacert", pki / "ca.pem", "-H",
                                       "Authorization: Bearer tok"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), ca.begin(), ca.end());
    return more;
  };
  const auto none = test::http(rig.url("/captures", true), ca);
  EXPECT_EQ(none.status, 0);
  EXPECT_NE(none.curl_exit, 0);
  const auto stranger =
      test::http(rig.url("/captures", true),
                 with({"--cert", pki / "stranger.pem", "--key", pki / "stranger.key"}));
  EXPECT_EQ(stranger.status, 0);
  EXPECT_EQ(rig.host->subscribe_calls(), 0u);

  const std::vector<std::string> client = {"--cert", pki / "client.pem", "--key",
                                           pki / "client.key"};
  EXPECT_EQ(test::http(rig.url("/captures", true), with(client)).status, 200);
  // The certificate does not replace the token.
  auto no_token = client;
  no_token.insert(no_token.end(), {"--cacert", pki / "ca.pem"});
  EXPECT_EQ(test::http(rig.url("/captures", true), no_token).status, 401);
  CurlStream c(rig.url("/capture?count=3", true), with(client));
  ASSERT_TRUE(rig.wait_subscriptions(1));
  rig.feed(test::mixed_frames(10));
  ASSERT_EQ(c.wait(30), 0) << c.err();
  EXPECT_EQ(test::read_pcap_bytes(c.body()).records.size(), 3u);
}

TEST(StreamServerTls, AnUnusableTlsFileIsAnErrorThatNamesIt) {
  Pki pki;
  auto f = Fanout::open(FanoutConfig{});
  ASSERT_TRUE(f.ok());
  const auto start = [&](const std::string& cert, const std::string& key,
                         const std::string& client_ca) {
    StreamServerConfig cfg;
    cfg.tls_cert = cert;
    cfg.tls_key = key;
    cfg.tls_client_ca = client_ca;
    return StreamServer::start(cfg, **f);
  };
  struct Case {
    std::string cert, key, ca, named;
  };
  const std::string missing = pki / "missing.pem";
  const std::vector<Case> cases = {
      {missing, pki / "server.key", "", missing},
      {pki / "server.ext", pki / "server.key", "", pki / "server.ext"},  // not PEM
      {pki / "server.pem", missing, "", missing},
      {pki / "server.pem", pki / "client.key", "", pki / "client.key"},  // not its key
      {pki / "server.pem", pki / "server.key", missing, missing},
      {pki / "server.pem", "", "", "both"},
  };
  for (const auto& c : cases) {
    auto s = start(c.cert, c.key, c.ca);
    ASSERT_FALSE(s.ok()) << c.named;
    EXPECT_EQ(s.error().kind, ErrorKind::InvalidInput) << s.error().message;
    EXPECT_NE(s.error().message.find(c.named), std::string::npos) << s.error().message;
    EXPECT_EQ(s.error().message.find('\n'), std::string::npos) << s.error().message;
  }
  auto ok = start(pki / "server.pem", pki / "server.key", pki / "ca.pem");
  EXPECT_TRUE(ok.ok()) << ok.error().message;
}

}  // namespace
}  // namespace xcap::sink::fanout
