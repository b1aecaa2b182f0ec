// N-API wrapper of router discovery (packet/ndp.cc, ndp/socket.cc):
//   ndpLookupLink(name) -> link facts or null when there is no such interface
//   ndpParseRouterAdvert(bytes) -> { status, ra } (the parser alone, for tests and tools)
//   ndpDiscover(options) -> Promise of every RA received until the deadline
// The exchange blocks for the whole timeout, so it runs in an AsyncWorker, never on the JS thread.
#include <arpa/inet.h>

#include <cstdio>
#include <string>

#include "glue/glue.h"
#include "glue/args.h"
#include "packet/ndp.h"
#include "ndp/socket.h"

namespace {

using sonde::Ip6Bytes;
using sonde::RouterAdvert;
using sonde::RouterPreference;

std::string Ip6Text(const Ip6Bytes& a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a.data(), buf, sizeof(buf));
  return buf;
}

std::string HexColon(const std::vector<uint8_t>& b) {
  std::string s;
  char part[4];
  for (size_t i = 0; i < b.size(); i++) {
    std::snprintf(part, sizeof(part), i ? ":%02x" : "%02x", b[i]);
    s += part;
  }
  return s;
}

const char* PreferenceName(RouterPreference p) {
  switch (p) {
    case RouterPreference::kHigh: return "high";
    case RouterPreference::kLow: return "low";
    case RouterPreference::kReserved: return "reserved";
    case RouterPreference::kMedium: break;
  }
  return "medium";
}

Napi::Object AdvertToJs(Napi::Env env, const RouterAdvert& ra) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("curHopLimit", ra.cur_hop_limit);
  o.Set("managed", ra.managed);
  o.Set("other", ra.other);
  o.Set("homeAgent", ra.home_agent);
  o.Set("proxy", ra.proxy);
  o.Set("preference", PreferenceName(ra.preference));
  o.Set("routerLifetime", ra.router_lifetime);
  o.Set("reachableTime", ra.reachable_time);
  o.Set("retransTimer", ra.retrans_timer);
  o.Set("mtu", ra.has_mtu ? Napi::Value(Napi::Number::New(env, ra.mtu)) : env.Null());
  o.Set("sourceLladdr", ra.source_lladdr.empty() ? env.Null() : Napi::Value(Napi::String::New(env, HexColon(ra.source_lladdr))));
  Napi::Array prefixes = Napi::Array::New(env, ra.prefixes.size());
  for (size_t i = 0; i < ra.prefixes.size(); i++) {
    const sonde::RaPrefix& p = ra.prefixes[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("prefix", Ip6Text(p.prefix));
    x.Set("length", p.length);
    x.Set("onLink", p.on_link);
    x.Set("autonomous", p.autonomous);
    x.Set("validLifetime", p.valid_lifetime);
    x.Set("preferredLifetime", p.preferred_lifetime);
    prefixes.Set(i, x);
  }
  o.Set("prefixes", prefixes);
  Napi::Array routes = Napi::Array::New(env, ra.routes.size());
  for (size_t i = 0; i < ra.routes.size(); i++) {
    const sonde::RaRoute& r = ra.routes[i];
    Napi::Object x = Napi::Object::New(env);
    x.Set("prefix", Ip6Text(r.prefix));
    x.Set("length", r.length);
    x.Set("preference", PreferenceName(r.preference));
    x.Set("lifetime", r.lifetime);
    routes.Set(i, x);
  }
  o.Set("routes", routes);
  Napi::Array rdnss = Napi::Array::New(env, ra.rdnss.size());
  for (size_t i = 0; i < ra.rdnss.size(); i++) {
    Napi::Array servers = Napi::Array::New(env, ra.rdnss[i].servers.size());
    for (size_t j = 0; j < ra.rdnss[i].servers.size(); j++) servers.Set(j, Ip6Text(ra.rdnss[i].servers[j]));
    Napi::Object x = Napi::Object::New(env);
    x.Set("servers", servers);
    x.Set("lifetime", ra.rdnss[i].lifetime);
    rdnss.Set(i, x);
  }
  o.Set("rdnss", rdnss);
  Napi::Array dnssl = Napi::Array::New(env, ra.dnssl.size());
  for (size_t i = 0; i < ra.dnssl.size(); i++) {
    Napi::Array domains = Napi::Array::New(env, ra.dnssl[i].domains.size());
    for (size_t j = 0; j < ra.dnssl[i].domains.size(); j++) domains.Set(j, ra.dnssl[i].domains[j]);
    Napi::Object x = Napi::Object::New(env);
    x.Set("domains", domains);
    x.Set("lifetime", ra.dnssl[i].lifetime);
    dnssl.Set(i, x);
  }
  o.Set("dnssl", dnssl);
  Napi::Array unknown = Napi::Array::New(env, ra.unknown_options.size());
  for (size_t i = 0; i < ra.unknown_options.size(); i++) unknown.Set(i, ra.unknown_options[i]);
  o.Set("unknownOptions", unknown);
  o.Set("ignoredOptions", ra.ignored_options);
  return o;
}

Napi::Value LookupLink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "ndpLookupLink(name: string)");
  sonde::NdpLinkInfo link;
  std::string error;
  if (!sonde::NdpLookupLink(info[0].As<Napi::String>().Utf8Value(), &link, &error)) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("index", link.index);
  o.Set("hwType", link.hw_type);
  o.Set("hwAddr", Napi::Buffer<uint8_t>::Copy(env, link.hw_addr.data(), link.hw_addr.size()));
  o.Set("permAddr", Napi::Buffer<uint8_t>::Copy(env, link.perm_addr.data(), link.perm_addr.size()));
  o.Set("devId", link.dev_id);
  return o;
}

Napi::Value ParseAdvert(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "ndpParseRouterAdvert(bytes: Uint8Array)");
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  RouterAdvert ra;
  sonde::RaParseStatus st = sonde::ParseRouterAdvert(bytes.Data(), bytes.ByteLength(), &ra);
  Napi::Object o = Napi::Object::New(env);
  o.Set("status", sonde::RaParseStatusName(st));
  o.Set("ra", st == sonde::RaParseStatus::kOk ? Napi::Value(AdvertToJs(env, ra)) : env.Null());
  return o;
}

class DiscoverWorker : public Napi::AsyncWorker {
 public:
  DiscoverWorker(Napi::Env env, sonde::NdpDiscoverOptions opts)
      : Napi::AsyncWorker(env, "sonde-ndp"), opts_(std::move(opts)), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override { result_ = sonde::NdpDiscover(opts_); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("error", result_.error.empty() ? env.Null() : Napi::Value(Napi::String::New(env, result_.error)));
    o.Set("source", result_.has_source ? Napi::Value(Napi::String::New(env, Ip6Text(result_.source))) : env.Null());
    o.Set("solicitations", result_.solicitations);
    Napi::Array received = Napi::Array::New(env, result_.received.size());
    for (size_t i = 0; i < result_.received.size(); i++) {
      const sonde::NdpReceived& r = result_.received[i];
      Napi::Object x = Napi::Object::New(env);
      x.Set("source", Ip6Text(r.source));
      x.Set("hopLimit", r.hop_limit);
      x.Set("atMs", r.at_ms);
      x.Set("parse", sonde::RaParseStatusName(r.parse));
      x.Set("envelope", sonde::RaEnvelopeStatusName(r.envelope));
      x.Set("ra", r.parse == sonde::RaParseStatus::kOk ? Napi::Value(AdvertToJs(env, r.ra)) : env.Null());
      received.Set(i, x);
    }
    o.Set("received", received);
    deferred_.Resolve(o);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  sonde::NdpDiscoverOptions opts_;
  sonde::NdpDiscoverResult result_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value Discover(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "ndpDiscover(options: object)");
  Napi::Object o = info[0].As<Napi::Object>();
  sonde::NdpDiscoverOptions opts;
  if (o.Get("index").IsUndefined()) throw Napi::TypeError::New(env, "options.index (interface index) is required");
  opts.ifindex = sonde::OptU32(o, "index", 0, 1, 0x7fffffff);
  opts.timeout_ms = static_cast<int>(sonde::OptU32(o, "timeoutMs", static_cast<uint32_t>(opts.timeout_ms), 1, 3600 * 1000));
  opts.resend_ms = static_cast<int>(sonde::OptU32(o, "resendMs", static_cast<uint32_t>(opts.resend_ms), 100, 3600 * 1000));
  opts.max_solicitations = static_cast<int>(sonde::OptU32(o, "maxSolicitations", static_cast<uint32_t>(opts.max_solicitations), 1, 100));
  Napi::Value ll = o.Get("lladdr");
  if (!ll.IsUndefined() && !ll.IsNull()) {
    if (!ll.IsTypedArray()) throw Napi::TypeError::New(env, "options.lladdr must be a Uint8Array");
    Napi::Uint8Array b = ll.As<Napi::Uint8Array>();
    if (b.ByteLength() > 32) throw Napi::RangeError::New(env, "options.lladdr must be at most 32 bytes");
    opts.lladdr.assign(b.Data(), b.Data() + b.ByteLength());
  }
  auto* worker = new DiscoverWorker(env, std::move(opts));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

}  // namespace

void InitNdp(Napi::Env env, Napi::Object exports) {
  exports.Set("ndpLookupLink", Napi::Function::New(env, LookupLink, "ndpLookupLink"));
  exports.Set("ndpParseRouterAdvert", Napi::Function::New(env, ParseAdvert, "ndpParseRouterAdvert"));
  exports.Set("ndpDiscover", Napi::Function::New(env, Discover, "ndpDiscover"));
}
